"""What the API token and publishable key pages share: lists of credentials that can be revoked.

Both list a site's credentials oldest first from their store; the pages show them newest first,
active ones in a table and revoked ones folded away, and act only on an active one of the site
the URL names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from footfall.dashboard.auth import Forbidden


class Revocable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def revoked_at(self) -> float | None: ...


R = TypeVar("R", bound=Revocable)


def active_and_revoked(listed: Sequence[R]) -> tuple[list[R], list[R]]:
    """`listed` (oldest first) newest first, split into the active and the revoked ones."""
    newest_first = list(reversed(listed))
    return (
        [item for item in newest_first if item.revoked_at is None],
        [item for item in newest_first if item.revoked_at is not None],
    )


def active_by_id(listed: Sequence[R], item_id: str, noun: str) -> R:
    """The active credential of `listed` (one site's) with this id; 403 for anything else, so
    another site's id never works through this site's pages."""
    for item in listed:
        if item.id == item_id and item.revoked_at is None:
            return item
    raise Forbidden(f"No such active {noun} for this site.")
