"""Resume tokens as text: opaque ASCII, tagged with the kind of walk they resume (pure).

`paginate()` tokens start with `lw2.` (`lw1.` from earlier versions), `scan()` tokens with
`ls1.`; the rest is the position as JSON, base64url without padding. A token given to the
other kind of walk is refused, saying which kind it is.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from .errors import ParameterError

__all__ = ["OLD_WALK", "SCAN", "WALK", "decode", "encode"]

WALK, OLD_WALK, SCAN = "lw2.", "lw1.", "ls1."
_KINDS = {WALK: "paginate()", OLD_WALK: "paginate()", SCAN: "scan()"}


def encode(prefix: str, payload: Any) -> str:
    """`payload` as a token of the kind `prefix` names."""
    return prefix + base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode(token: Any, prefixes: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """A token's prefix and payload (a JSON object, not yet checked field by field).

    `ParameterError` naming `resume_token` when it is not a token of one of `prefixes`:
    not a token at all, a token of the other kind of walk, or damaged.
    """
    wanted = _KINDS[prefixes[0]]
    prefix = next((p for p in _KINDS if isinstance(token, str) and token.startswith(p)), None)
    if prefix is None:
        raise ParameterError("resume_token is not a resume token from this SDK")
    if prefix not in prefixes:
        raise ParameterError(
            f"resume_token is a token of {_KINDS[prefix]}; {wanted} needs one of its own"
        )
    body = token[len(prefix) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise ParameterError("resume_token is not a resume token from this SDK") from None
    if not isinstance(payload, dict):
        raise ParameterError("resume_token is damaged: it does not hold a walk's position")
    return prefix, payload
