"""What a caller reads when a search is refused before anything is sent: the parameter,
what was wrong, and what is allowed, word for word."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from leadway_async import ParameterError
from leadway_async.cli.config import filters_from
from leadway_async.cli.main import build_parser
from leadway_async.params import BY_KEYWORD, build_search_query

LOCATION = {"location_id": "L"}


def refusal(filters: dict[str, Any], kind: type[Exception] = TypeError) -> str:
    with pytest.raises(kind) as caught:
        build_search_query(filters)
    return str(caught.value)


def test_a_search_without_a_location_says_where_to_set_one() -> None:
    assert refusal({}, ParameterError) == (
        "location_id is required: pass location_id=..., or set it on the client "
        "(LeadwayClient(location_id=...) or the LEADWAY_LOCATION_ID variable)"
    )


def test_unknown_filters_are_named_in_order_with_the_allowed_ones() -> None:
    assert refusal({**LOCATION, "sortt": "asc", "lmit": 5}) == (
        f"unknown search parameter(s): lmit, sortt; allowed: {', '.join(BY_KEYWORD)}"
    )


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"limit": "5"}, "limit must be an integer, not str"),
        ({"limit": 2.0}, "limit must be an integer, not float"),
        ({"query": 5}, "query must be a string, not int"),
        ({"contact_id": b"c1"}, "contact_id must be a string, not bytes"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_parameter_and_the_type(
    filters: dict[str, Any], message: str
) -> None:
    assert refusal({**LOCATION, **filters}) == message


def test_a_choice_out_of_its_list_names_every_allowed_value() -> None:
    assert refusal({**LOCATION, "sort": "up"}, ParameterError) == (
        "sort must be one of asc, desc; got 'up'"
    )


def test_a_choice_given_on_the_command_line_is_searched_for_and_explained() -> None:
    parser = build_parser()
    options = parser.parse_args(["search", "--sort", "desc", "--last-message-direction", "inbound"])
    filters = filters_from(options)
    assert filters == {"sort": "desc", "last_message_direction": "inbound", "limit": 20}
    query = build_search_query({**LOCATION, **filters})
    assert (query["sort"], query["lastMessageDirection"]) == ("desc", "inbound")
    search = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "order of the walk" in search.choices["search"].format_help()
