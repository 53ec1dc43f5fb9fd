"""Search the built-in Leadway emulator: no account, no network.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import asyncio

from leadway_async import LeadwayClient
from leadway_async.testing import LeadwayEmulator


async def main() -> None:
    async with LeadwayEmulator(conversations=2_000, seed=7) as emu:
        print(f"emulator at {emu.url}, location {emu.location_id}")
        async with LeadwayClient(
            token=emu.token, location_id=emu.location_id, base_url=emu.url
        ) as client:
            page = await client.search(status="unread", sort="desc", limit=10)
            print(f"{page.total} unread conversations; the 10 most recent:")
            for conv in page.conversations:
                when = conv.last_message_date
                print(
                    f"  {when:%Y-%m-%d %H:%M}  {conv.full_name or '-':<28} {conv.last_message_type}"
                )
            budget = page.rate_limit
            print(f"rate limit: {budget.remaining} of {budget.max} left in this window")


if __name__ == "__main__":
    asyncio.run(main())
