"""Where the API is and which version of it is asked for, unless told otherwise."""

from __future__ import annotations

__all__ = ["DEFAULT_API_VERSION", "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
DEFAULT_API_VERSION = "2021-07-28"
