"""One DEBUG line per request sent, on the `leadway_async` logger."""

from __future__ import annotations

import logging
import time

from .chain import Handler, Request, Response

__all__ = ["LoggingMiddleware"]

logger = logging.getLogger("leadway_async")


class LoggingMiddleware:
    """Logs each attempt: method, path, parameters, status, elapsed, attempt, budget left.

    Requests carry no credentials, so nothing logged here can contain the token.
    """

    async def __call__(self, request: Request, handler: Handler) -> Response:
        if not logger.isEnabledFor(logging.DEBUG):
            return await handler(request)
        started = time.monotonic()
        params = "&".join(f"{name}={value}" for name, value in request.params)
        try:
            response = await handler(request)
        except Exception as error:
            logger.debug(
                "%s %s?%s -> %s in %.1f ms (attempt %d)",
                request.method, request.path, params, type(error).__name__,
                (time.monotonic() - started) * 1000, request.attempt,
            )  # fmt: skip
            raise
        budget = response.rate_limit
        logger.debug(
            "%s %s?%s -> %d in %.1f ms (attempt %d; window %s/%s left, day %s left)",
            request.method, request.path, params, response.status,
            (time.monotonic() - started) * 1000, request.attempt,
            budget.remaining, budget.max, budget.daily_remaining,
        )  # fmt: skip
        return response
