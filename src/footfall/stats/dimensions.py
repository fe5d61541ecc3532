"""The dimensions a stats query may filter on or break down by: a fixed whitelist.

A dimension's name is what the API takes (`visit:source`); its SQL comes only from this table
(column names are never taken from a request). Two scopes:

* `event:*` describe one event (its page, hostname, name, custom properties).
* `visit:*` describe a whole visit, taken from the visit's first event in the date range
  (source, UTM, device, …), or from its first/last pageview (entry and exit page).

A missing value reads as `(none)` (for `visit:source`: `Direct / None`), in breakdowns and
filters alike, so `["is", "visit:utm_source", ["(none)"]]` selects visits without UTM source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NONE_LABEL = "(none)"
DIRECT_LABEL = "Direct / None"
PROPS_PREFIX = "event:props:"
GOAL = "event:goal"  # the goal an event completes: see `footfall.stats.goals`
MAX_PROP_KEY_LENGTH = 300

Scope = Literal["event", "visit"]
VisitValue = Literal["first", "entry", "exit"]


@dataclass(frozen=True, slots=True)
class Dimension:
    """One whitelisted dimension; `prop_key` is set only for `event:props:<key>`."""

    name: str
    scope: Scope
    column: str
    none_label: str = NONE_LABEL
    visit_value: VisitValue = "first"
    prop_key: str | None = None

    @property
    def alias(self) -> str:
        """The SQL alias of a visit attribute, built from whitelisted names only."""
        return f"a_{self.visit_value}_{self.column}"


def _visit(
    name: str, column: str, none_label: str = NONE_LABEL, visit_value: VisitValue = "first"
) -> Dimension:
    return Dimension(f"visit:{name}", "visit", column, none_label, visit_value)


_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("event:page", "event", "pathname"),
    Dimension("event:hostname", "event", "hostname"),
    Dimension("event:name", "event", "name"),
    Dimension(GOAL, "event", "pathname"),  # reads name and pathname; SQL from stats.goals
    _visit("entry_page", "pathname", visit_value="entry"),
    _visit("exit_page", "pathname", visit_value="exit"),
    _visit("source", "referrer_source", none_label=DIRECT_LABEL),
    _visit("referrer", "referrer"),
    _visit("utm_source", "utm_source"),
    _visit("utm_medium", "utm_medium"),
    _visit("utm_campaign", "utm_campaign"),
    _visit("utm_term", "utm_term"),
    _visit("utm_content", "utm_content"),
    _visit("country", "country"),
    _visit("region", "region"),
    _visit("city", "city"),
    _visit("browser", "browser"),
    _visit("browser_version", "browser_version"),
    _visit("os", "os"),
    _visit("os_version", "os_version"),
    _visit("device", "device_type"),
    _visit("screen", "screen_size"),
)

DIMENSIONS: dict[str, Dimension] = {d.name: d for d in _DIMENSIONS}

ALLOWED = ", ".join([*DIMENSIONS, f"{PROPS_PREFIX}<key>"])


def dimension(name: str) -> Dimension | None:
    """The dimension called `name`, or None when there is no such dimension."""
    if name.startswith(PROPS_PREFIX):
        key = name[len(PROPS_PREFIX) :]
        if not key or len(key) > MAX_PROP_KEY_LENGTH:
            return None
        return Dimension(name, "event", "props", prop_key=key)
    return DIMENSIONS.get(name)
