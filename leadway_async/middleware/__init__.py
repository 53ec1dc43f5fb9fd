"""The middleware chain every request takes, and the built-in middlewares."""

from .chain import Handler, Middleware, Request, Response, compose

__all__ = ["Handler", "Middleware", "Request", "Response", "compose"]
