"""Goals: what counts as a conversion on a site, kept in the metadata database (`goals`).

Two kinds of goal:

* `pageview`: a pageview whose path matches a **path pattern**;
* `event`: a custom event with a given name (`signup`).

Path patterns match the whole path as stored (no query string, percent-encoding kept):

| pattern          | matches                                   | not                        |
|------------------|-------------------------------------------|----------------------------|
| `/signup`        | `/signup` only (exact)                    | `/signup/`, `/signup/team` |
| `/product/*/buy` | `/product/42/buy` (`*`: within a segment) | `/product/a/b/buy`         |
| `/blog/**`       | `/blog/`, `/blog/a/b` (`**`: across `/`)  | `/blog`                    |

A pattern starts with `/`, holds no whitespace, control character, `?` or `#`, and no run of
three or more `*`. `regex()` turns a pattern into an anchored regular expression that means
the same in Python, DuckDB (RE2) and PostgreSQL; the stats engine binds it as a parameter.

`GoalStore` creates, lists, deletes, exports and imports goals; it is not cached (each stats
query that needs goals reads them, so CLI changes apply at once). Not responsible for counting
conversions: that is `footfall.stats.goals`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from footfall.errors import BackendUnavailable, NotFoundError
from footfall.storage.schema import goals, sites

GoalKind = Literal["pageview", "event"]
KINDS: tuple[GoalKind, ...] = ("pageview", "event")

MAX_PATTERN_LENGTH = 500  # the width of `goals.match`
MAX_EVENT_NAME_LENGTH = 120  # the longest event name ingestion accepts
MAX_GOAL_NAME_LENGTH = 200
MAX_GOALS_PER_SITE = 1000

# Control characters (C0, DEL, C1), and whitespace: never in a stored path, easy to mistype.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Goal:
    """A conversion goal; `match` is a path pattern (pageview) or an event name (event)."""

    id: str
    site_id: str
    kind: GoalKind
    match: str
    name: str
    created_at: float


def check_pattern(pattern: str) -> str:
    """`pattern` if it is a valid path pattern, else ValueError saying what is wrong."""
    if not pattern.startswith("/"):
        raise ValueError(f"page pattern {pattern!r} must start with /")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"page pattern: at most {MAX_PATTERN_LENGTH} characters")
    if _INVISIBLE.search(pattern):
        raise ValueError("page pattern: no spaces or control characters")
    if "?" in pattern or "#" in pattern:
        raise ValueError(
            "page pattern: paths are matched without query string or fragment; remove ? and #"
        )
    if "***" in pattern:
        raise ValueError("page pattern: use * (within a segment) or ** (across segments)")
    return pattern


def check_event_name(name: str) -> str:
    if not name or len(name) > MAX_EVENT_NAME_LENGTH or _INVISIBLE.search(name):
        raise ValueError(
            f"event name: 1 to {MAX_EVENT_NAME_LENGTH} characters, no spaces or control characters"
        )
    if name == "pageview":
        raise ValueError("event name: pageviews are goals by page: use --page with a pattern")
    return name


def check_goal_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_GOAL_NAME_LENGTH or _CONTROL.search(cleaned):
        raise ValueError(
            f"goal name: 1 to {MAX_GOAL_NAME_LENGTH} characters, no control characters"
        )
    return cleaned


def is_exact(pattern: str) -> bool:
    """Whether the pattern matches one path only (then it is compared, not matched)."""
    return "*" not in pattern


_WILDCARDS = re.compile(r"\*\*|\*")


def regex(pattern: str) -> str:
    """An anchored regular expression for `pattern`: `**` -> `.*`, `*` -> `[^/]*`.

    Literal characters other than letters, digits and `/` are escaped with a backslash, which
    all three engines read as "this character" for any ASCII punctuation; other characters
    have no special meaning. `(?s)` lets `.` match a newline in RE2 too (PostgreSQL and
    Python with `re.S` already do)."""
    parts = ["(?s)^"]
    position = 0
    for wildcard in _WILDCARDS.finditer(pattern):
        parts.append(_escape(pattern[position : wildcard.start()]))
        parts.append(".*" if wildcard.group() == "**" else "[^/]*")
        position = wildcard.end()
    parts.append(_escape(pattern[position:]))
    parts.append("$")
    return "".join(parts)


def _escape(literal: str) -> str:
    return "".join(
        "\\" + ch if ch.isascii() and not ch.isalnum() and ch != "/" else ch for ch in literal
    )


def matches(goal: Goal, name: str, pathname: str) -> bool:
    """Whether an event (`name`, `pathname`) completes `goal` (the SQL's meaning, in Python)."""
    if goal.kind == "event":
        return name == goal.match
    if name != "pageview":
        return False
    if is_exact(goal.match):
        return pathname == goal.match
    return re.fullmatch(regex(goal.match), pathname) is not None


def default_name(kind: GoalKind, match: str) -> str:
    return f"Visit {match}" if kind == "pageview" else match


def _goal(row: Any) -> Goal:
    return Goal(
        id=row.id,
        site_id=row.site_id,
        kind=row.kind,
        match=row.match,
        name=row.name,
        created_at=row.created_at,
    )


# A lost or refused database connection: answered as `BackendUnavailable("metadata")`.
_OUTAGES = (sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError)


class GoalStore:
    """Goals in the metadata database of `engine` (the `SqlMetaStore`'s engine)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, site_id: str, kind: GoalKind, match: str, now: float, name: str | None = None
    ) -> Goal:
        """A new goal of a live site. NotFoundError for an unknown site; ValueError for an
        invalid pattern, event name or goal name, or a goal the site already has (same page
        pattern or event name, or same goal name)."""
        if kind == "pageview":
            match = check_pattern(match)
        elif kind == "event":
            match = check_event_name(match)
        else:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}")
        goal = Goal(
            id=secrets.token_hex(8),
            site_id=site_id,
            kind=kind,
            match=match,
            name=check_goal_name(name if name is not None else default_name(kind, match)),
            created_at=now,
        )
        try:
            async with self._engine.begin() as conn:
                live = await conn.scalar(
                    sa.select(sites.c.id).where(sites.c.id == site_id, sites.c.deleted_at.is_(None))
                )
                if live is None:
                    raise NotFoundError(f"no site with id {site_id}")
                existing = [_goal(row) for row in await conn.execute(_of_site(site_id))]
                _check_new(goal, existing)
                await conn.execute(goals.insert().values(**_values(goal)))
        except sa.exc.IntegrityError:
            # Added at the same moment by another process (the unique constraint held).
            raise ValueError(f"site {site_id} already has a goal on {kind} {match!r}") from None
        except _OUTAGES as error:
            raise BackendUnavailable("metadata") from error
        return goal

    async def for_site(self, site_id: str) -> list[Goal]:
        """The site's goals, oldest first."""
        try:
            async with self._engine.connect() as conn:
                return [_goal(row) for row in await conn.execute(_of_site(site_id))]
        except _OUTAGES as error:
            raise BackendUnavailable("metadata") from error

    async def delete(self, goal_id: str) -> Goal:
        """Delete a goal by id; returns it. NotFoundError if there is none. Its conversions
        are not stored anywhere: they disappear from the stats, the events stay."""
        try:
            async with self._engine.begin() as conn:
                row = (await conn.execute(goals.select().where(goals.c.id == goal_id))).first()
                if row is None:
                    raise NotFoundError(f"no goal with id {goal_id}")
                await conn.execute(goals.delete().where(goals.c.id == goal_id))
        except _OUTAGES as error:
            raise BackendUnavailable("metadata") from error
        return _goal(row)

    async def import_goals(self, imported: Sequence[Goal]) -> None:
        """Insert goals as exported (same ids), in one transaction."""
        if not imported:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(goals.insert(), [_values(goal) for goal in imported])
        except _OUTAGES as error:
            raise BackendUnavailable("metadata") from error


def _of_site(site_id: str) -> sa.Select[Any]:
    return goals.select().where(goals.c.site_id == site_id).order_by(goals.c.created_at, goals.c.id)


def _values(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "site_id": goal.site_id,
        "kind": goal.kind,
        "match": goal.match,
        "name": goal.name,
        "created_at": goal.created_at,
    }


def _check_new(goal: Goal, existing: Sequence[Goal]) -> None:
    if len(existing) >= MAX_GOALS_PER_SITE:
        raise ValueError(f"a site has at most {MAX_GOALS_PER_SITE} goals")
    for other in existing:
        if other.kind == goal.kind and other.match == goal.match:
            what = "page pattern" if goal.kind == "pageview" else "event"
            raise ValueError(
                f"goal {other.id} ({other.name}) already counts the {what} {goal.match!r}"
            )
        if other.name == goal.name:
            raise ValueError(f"goal {other.id} is already named {goal.name!r}; choose another name")
