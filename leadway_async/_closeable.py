"""The `async with` protocol shared by everything that has an `aclose()`."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self


class AsyncCloseable:
    """Usable as `async with x:`, which calls `await x.aclose()` on the way out."""

    async def aclose(self) -> None:
        """Release what the object holds; calling it again does nothing."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
