"""`RedisTokenStore`: an OAuth install's tokens in Redis, shared by every host, with a
refresh lock that frees itself when its holder dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import NoReturn

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError

from ..auth.tokens import OAuthTokens, TokenStoreError
from ..errors import ParameterError
from ._connect import RedisConnection, classify, refusal

__all__ = ["RedisTokenStore"]

logger = logging.getLogger("leadway_async")

_CALL_TIMEOUT_S = 5.0  # each Redis call of the store
_LOCK_POLL_S = 0.05  # how often a waiter for the lock asks again


class RedisTokenStore:
    """Tokens as the JSON document of `OAuthTokens.to_document()` under one Redis key,
    shared by every process and host using that Redis and key: a `TokenStore`.

    `url_or_client` is a Redis URL (a malformed one is a `ParameterError` here) or a
    `redis.asyncio.Redis` client, used as it is and not closed by `aclose()`. `key` names
    the install; use one per install (it may carry your own prefix). `lock()` holds
    `<key>:lock`, a Redis lock with a time to live of `lock_timeout_s` (a `SET NX PX` with a
    random token, released by a script only by its holder), so across any number of hosts
    one refresh happens at a time; a holder that dies frees it when its time runs out. A
    refresh must finish within `lock_timeout_s` (a lock found expired on release is logged
    as a WARNING); a waiter gives up with `TokenStoreError` after twice that.

    `write()` returns once Redis has the tokens; how durable they are then is the
    server's persistence setting (use `appendonly yes`). Nothing is set to expire. Any
    failure (Redis unreachable, credentials refused, the key holding something else) is
    a `TokenStoreError`; the repr shows neither tokens nor a password.
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        *,
        key: str = "leadway-async:oauth",
        lock_timeout_s: float = 30,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ParameterError(f"key must be a non-empty string, got {key!r}")
        if (
            isinstance(lock_timeout_s, bool)
            or not isinstance(lock_timeout_s, (int, float))
            or not lock_timeout_s > 0
        ):
            raise ParameterError(
                f"lock_timeout_s must be a positive number of seconds, got {lock_timeout_s!r}"
            )
        self.key = key
        self.lock_timeout_s = float(lock_timeout_s)
        self._redis = RedisConnection(
            url_or_client, timeout_s=_CALL_TIMEOUT_S, parameter="url_or_client"
        )
        self._where = f"the Redis key {key!r} at {self._redis.where}"
        self._in_process = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._redis.where!r}, key={self.key!r})"

    async def read(self) -> OAuthTokens | None:
        """The tokens stored, or None while nothing has been written."""
        try:
            raw = await self._redis.call(self._redis.client.get(self.key))
        except Exception as exc:
            self._fail("read", exc)
        if raw is None:
            return None
        try:
            document = json.loads(raw)
        except ValueError:
            raise TokenStoreError(f"{self._where} is not a leadway-async token store") from None
        return OAuthTokens.from_document(document, self._where)

    async def write(self, tokens: OAuthTokens) -> None:
        """Store `tokens` in place of what was there."""
        payload = json.dumps(tokens.to_document())
        try:
            await self._redis.call(self._redis.client.set(self.key, payload))
        except Exception as exc:
            self._fail("write", exc)

    @contextlib.asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Hold the refresh lock against every task, process and host using this key."""
        async with self._in_process:
            lock = Lock(
                self._redis.client,
                f"{self.key}:lock",
                timeout=self.lock_timeout_s,
                sleep=_LOCK_POLL_S,
                blocking_timeout=2 * self.lock_timeout_s,
                thread_local=False,
            )
            waited = 2 * self.lock_timeout_s + _CALL_TIMEOUT_S
            try:
                taken = await asyncio.wait_for(lock.acquire(), waited)
            except Exception as exc:
                self._fail("take the refresh lock of", exc)
            if not taken:
                raise TokenStoreError(
                    f"the refresh lock of {self._where} stayed held for "
                    f"{2 * self.lock_timeout_s:g} s; is a refresh stuck elsewhere?"
                )
            try:
                yield
            finally:
                await self._release(lock)

    async def aclose(self) -> None:
        """Close the Redis client if it was made from a URL here."""
        await self._redis.aclose()

    async def _release(self, lock: Lock) -> None:
        try:
            await self._redis.call(lock.release())
        except LockNotOwnedError:
            logger.warning(
                "the refresh lock of %s ran out (lock_timeout_s=%g) before it was released: "
                "another host may have refreshed at the same time",
                self._where,
                self.lock_timeout_s,
            )
        except Exception as exc:
            if classify(exc) is None:
                raise
            logger.warning(
                "the refresh lock of %s could not be released (%s); it frees itself within %g s",
                self._where,
                exc,
                self.lock_timeout_s,
            )

    def _fail(self, doing: str, exc: Exception) -> NoReturn:
        kind = classify(exc)
        if kind is None:
            raise exc
        text = str(exc) or type(exc).__name__
        why = refusal(exc)
        if why == "foreign key":
            raise TokenStoreError(
                f"{self._where} holds something that is not a leadway-async token store"
            ) from exc
        if kind == "outage":
            raise TokenStoreError(
                f"cannot {doing} {self._where}: Redis does not answer ({text})"
            ) from exc
        if why == "credentials":
            raise TokenStoreError(
                f"cannot {doing} {self._where}: Redis refused the credentials ({text})"
            ) from exc
        raise TokenStoreError(f"cannot {doing} {self._where}: Redis refused ({text})") from exc
