"""The locations (sub-accounts) an emulator serves: their ids, names, addresses and data seeds.

The first location is the default one; the others are extra locations, each with its own
conversations, drawn from a seed derived from the emulator's seed and the location's id.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from .data import unique_ids

__all__ = ["Location", "describe_locations", "generated_location_ids", "location_seed"]

_NAMES = (
    "Main Street Dental",
    "Harbor View Realty",
    "Summit Fitness Studio",
    "Greenleaf Landscaping",
    "Bright Smile Orthodontics",
    "Cedar Creek Roofing",
    "Bluebird Bakery",
    "Northside Auto Care",
)
_STREETS = ("Market St", "Oak Ave", "Lakeview Dr", "Hill Rd")


@dataclass(frozen=True)
class Location:
    """One served location as `installedLocations` lists it: id, name and address."""

    id: str
    name: str
    address: str


def describe_locations(location_ids: Sequence[str]) -> tuple[Location, ...]:
    """A name and an address for each location id, by its place in the list."""
    described = []
    for k, location_id in enumerate(location_ids):
        round_ = k // len(_NAMES)
        name = _NAMES[k % len(_NAMES)] + (f" {round_ + 1}" if round_ else "")
        street = _STREETS[k % len(_STREETS)]
        address = f"{12 + 7 * k} {street}, Springfield, IL 62701, USA"
        described.append(Location(location_id, name, address))
    return tuple(described)


def location_seed(seed: int, location_id: str) -> int:
    """The data seed of an extra location: the same for the same seed and id, else different."""
    digest = hashlib.blake2b(f"{seed}:{location_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def generated_location_ids(count: int, *, seed: int = 0, avoid: str = "") -> list[str]:
    """`count` distinct 20-character location ids, the same for the same seed, none `avoid`."""
    if count < 0:
        raise ValueError("the number of locations must not be negative")
    rng = random.Random(f"locations:{seed}")
    ids: list[str] = []
    while len(ids) < count:
        for location_id in unique_ids(rng, count - len(ids)):
            if location_id != avoid and location_id not in ids:
                ids.append(location_id)
    return ids
