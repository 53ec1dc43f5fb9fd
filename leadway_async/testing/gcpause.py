"""Pausing the cycle collector while building many objects at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Keep the cycle collector off inside the block (if it was on).

    Building hundreds of thousands of dicts and lists sets it off over and over, each pass
    walking every object alive: with a million conversations that triples the run time.
    Nothing built in these blocks is cyclic, so reference counting frees it all anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
