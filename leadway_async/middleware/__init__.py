"""The middleware chain every request takes, and the built-in middlewares.

The client's default chain, outermost first: the caller's own `middlewares`, then
`RetryMiddleware`, `Throttle`, `LoggingMiddleware`, and the transport.
"""

from .chain import Handler, Middleware, Request, Response, compose
from .logging import LoggingMiddleware
from .retry import RetryEvent, RetryMiddleware, RetryPolicy, is_testing, set_testing
from .throttle import Throttle

__all__ = [
    "Handler",
    "LoggingMiddleware",
    "Middleware",
    "Request",
    "Response",
    "RetryEvent",
    "RetryMiddleware",
    "RetryPolicy",
    "Throttle",
    "compose",
    "is_testing",
    "set_testing",
]
