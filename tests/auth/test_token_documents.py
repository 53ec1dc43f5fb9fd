"""A token store's document, field by field: what is written, what reads back, what is
refused; and what the tokens show of themselves."""

from __future__ import annotations

from typing import Any

import pytest

from leadway_async.auth import OAuthTokens, TokenStoreError

MINTED = OAuthTokens(
    access_token="loc-SECRET",
    refresh_token=None,
    expires_at=1_800_000_000.0,
    user_type="Location",
    company_id=None,
    location_id="L7",
    user_id=None,
    scopes=(),
)


def test_a_document_holds_every_field_under_its_name() -> None:
    assert MINTED.to_document() == {
        "format": "leadway-async/oauth-tokens",
        "version": 1,
        "access_token": "loc-SECRET",
        "refresh_token": None,
        "expires_at": 1_800_000_000.0,
        "user_type": "Location",
        "company_id": None,
        "location_id": "L7",
        "user_id": None,
        "scopes": [],
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"company_id": "C1", "location_id": None, "user_id": "U1", "refresh_token": "r-1"},
        {"company_id": None, "location_id": "L7", "user_id": None, "refresh_token": None},
    ],
    ids=["company", "minted location"],
)
def test_a_document_reads_back_its_optional_fields_set_or_not(fields: dict[str, Any]) -> None:
    tokens = OAuthTokens("a-1", fields.pop("refresh_token"), 5.0, "Company", **fields)
    assert OAuthTokens.from_document(tokens.to_document(), "here") == tokens


def test_a_document_without_the_optional_fields_reads_as_none() -> None:
    document = MINTED.to_document()
    for name in ("refresh_token", "company_id", "location_id", "user_id", "scopes"):
        del document[name]
    tokens = OAuthTokens.from_document(document, "here")
    assert (tokens.refresh_token, tokens.company_id, tokens.location_id, tokens.user_id) == (
        None, None, None, None,
    )  # fmt: skip
    assert tokens.scopes == ()


def test_scopes_written_as_one_string_are_split() -> None:
    document = {**MINTED.to_document(), "scopes": "a.readonly  b.write"}
    assert OAuthTokens.from_document(document, "here").scopes == ("a.readonly", "b.write")


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("refresh_token", "", "refresh_token is not a non-empty string"),
        ("company_id", 5, "company_id is not a non-empty string"),
        ("location_id", "", "location_id is not a non-empty string"),
        ("user_id", [], "user_id is not a non-empty string"),
        ("access_token", None, "access_token is not a non-empty string"),
        ("scopes", None, "scopes is not a list of strings"),
        ("user_type", "Agency", "user_type is 'Agency', not one of Company, Location"),
    ],
)
def test_a_field_of_the_wrong_kind_is_refused_by_name(
    field: str, value: object, complaint: str
) -> None:
    document = {**MINTED.to_document(), field: value}
    with pytest.raises(TokenStoreError) as caught:
        OAuthTokens.from_document(document, "the store X")
    assert str(caught.value) == f"the store X is damaged: {complaint}"


def test_the_repr_hides_the_tokens_and_shows_which_are_missing() -> None:
    shown = repr(MINTED)
    assert "access_token='[hidden]'" in shown
    assert "refresh_token=None" in shown
    assert "SECRET" not in shown


def test_the_time_left_counts_down_to_the_expiry() -> None:
    assert MINTED.expires_in(1_800_000_000.0 - 90) == 90
    assert MINTED.expires_in(1_800_000_000.0 + 5) == -5
