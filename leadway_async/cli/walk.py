"""Which walk an export takes: a scan, in no order with several requests in flight, or the
ordered walk (`--sort`), one request at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from attrs import frozen

if TYPE_CHECKING:
    from ..client import LeadwayClient
    from ..pagination import ConversationPager
    from ..scan import ConversationScan

WalkKind = Literal["scan", "ordered"]
"""The kind of walk: part of what makes two exports the same export."""

DEFAULT_CONCURRENCY = 4
"""Requests in flight at once in a scan, unless told otherwise."""


@frozen
class WalkPlan:
    """The walk an export takes, and for a scan how many requests it keeps in flight."""

    kind: WalkKind
    concurrency: int = DEFAULT_CONCURRENCY

    @classmethod
    def for_filters(cls, filters: dict[str, Any], concurrency: int | None = None) -> WalkPlan:
        """The ordered walk when `filters` ask for an order, else a scan."""
        if filters.get("sort") is not None:
            return cls("ordered", 1)
        return cls("scan", concurrency or DEFAULT_CONCURRENCY)


def conflict(filters: dict[str, Any], concurrency: int | None) -> str | None:
    """What is wrong with asking for these filters with this `--concurrency` (None: not
    given), if anything."""
    ordered = filters.get("sort") is not None
    if ordered and concurrency is not None:
        return (
            "--concurrency is for a scan, and --sort asks for the ordered walk, which sends "
            "one request at a time: drop one of them"
        )
    if not ordered and filters.get("start_after_date") is not None:
        return (
            "--start-after-date is a cursor of the ordered walk: it needs --sort asc or --sort desc"
        )
    return None


def start_walk(
    client: LeadwayClient,
    filters: dict[str, Any],
    plan: WalkPlan,
    *,
    max_items: int | None,
    resume_token: str | None,
) -> ConversationPager | ConversationScan:
    """The pager or scan `plan` asks for (`ParameterError` for a refused token or filter)."""
    if plan.kind == "scan":
        return client.scan(
            concurrency=plan.concurrency,
            max_items=max_items,
            resume_token=resume_token,
            **filters,
        )
    return client.paginate(max_items=max_items, resume_token=resume_token, **filters)


def kind_mismatch(kept: dict[str, Any], plan: WalkPlan) -> str | None:
    """Why an export of `plan` cannot resume the one whose identity is `kept`, if it is of
    the other kind (an identity without a kind is of the ordered walk)."""
    was = kept.get("walk", "ordered")
    if was == plan.kind:
        return None
    if was == "scan":
        return "the interrupted one was a scan, in no order; resume it without --sort"
    filters = kept.get("filters")
    order = filters.get("sort") if isinstance(filters, dict) else None
    if order is None:
        return (
            "the interrupted one walked in the server's order; finish it with the version "
            "that started it"
        )
    return f"the interrupted one walked in order (--sort {order}); resume it with --sort {order}"
