"""Small helpers the integration tests share."""

from __future__ import annotations

from typing import Any

from leadway_async import LeadwayClient


def client_for(emu: Any, **options: Any) -> LeadwayClient:
    """A client pointed at the emulator `emu`, with the given options."""
    return LeadwayClient(emu.token, location_id=emu.location_id, base_url=emu.url, **options)


def expected_ids(emu: Any, **wire: str) -> list[str]:
    """The ids a complete walk with these wire filters must yield, in order."""
    return [c["id"] for c in emu.expected({"locationId": emu.location_id, **wire})]
