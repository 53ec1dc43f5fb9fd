"""Building a page with the cycle collector paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cycle collector off inside the block, if it was on, and restore it.

    A page's decoded JSON is about 700 objects the collector tracks and its models a few
    hundred more: enough on their own to set off a collection in nearly every page read,
    each walking the page while it is still alive and moving it to an older generation,
    where later full collections walk it again. Nothing built while a page is read can
    form a cycle, so reference counting frees the JSON at the end of the block anyway.
    The block never awaits, so no other task runs while the collector is off. The switch
    is the process's: another thread's allocations meanwhile set off no collection, and
    one that turns the collector off during the block finds it on again after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
