"""Resume tokens as text: what a caller holds, passes in a URL or a shell, and gets back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadway_async import ParameterError
from leadway_async.tokens import SCAN, WALK, decode, encode

URL_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(payload=st.dictionaries(st.text(), JSON, max_size=6))
def test_a_token_gives_back_what_it_holds(payload: dict[str, Any]) -> None:
    assert decode(encode(WALK, payload), (WALK,)) == (WALK, payload)


@given(payload=st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=3))
def test_a_token_is_plain_url_safe_text_without_padding(payload: dict[str, Any]) -> None:
    token = encode(SCAN, payload)
    assert token.startswith("ls1.")
    assert token.isascii()
    assert not set(token) - URL_SAFE


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not a token", "resume_token is not a resume token from this SDK"),
        (17, "resume_token is not a resume token from this SDK"),
        ("lw2.%%%", "resume_token is not a resume token from this SDK"),
        (
            "lw2." + encode("", "text")[:-1] + "!",
            "resume_token is not a resume token from this SDK",
        ),
        (encode(WALK, [1, 2]), "resume_token is damaged: it does not hold a walk's position"),
        (encode(SCAN, {}), "resume_token is a token of scan(); paginate() needs one of its own"),
    ],
)
def test_what_is_not_a_token_of_this_kind_is_refused_saying_why(token: Any, message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        decode(token, (WALK,))
    assert str(caught.value) == message
