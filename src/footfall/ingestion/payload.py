"""The two ingestion payloads, their limits, and turning validation failures into 400s.

Types are strict: `"screenWidth": "1920"` is a wrong type, not a number. Unknown fields are
ignored so that newer trackers keep working against older servers. Error messages name the
field and never echo the offending value.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)

from footfall.errors import BadRequest

MAX_URL_LENGTH = 2048
MAX_NAME_LENGTH = 120
MAX_PROPS = 30
MAX_PROP_KEY_LENGTH = 300
MAX_PROP_VALUE_LENGTH = 2000
MAX_PROP_INT = 2**63 - 1
MAX_USER_AGENT_LENGTH = 1024
MAX_VISITOR_ID_LENGTH = 256
MAX_EVENT_ID_LENGTH = 64

WebsiteId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
EventName = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH)
]
Url = Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]
OptionalUrl = Annotated[StrictStr, StringConstraints(max_length=MAX_URL_LENGTH)] | None


_EVENT_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_EVENT_ID_LENGTH}}}")


def _check_event_id(value: str) -> str:
    """A client event id: URL-safe characters only (UUIDs, ULIDs, base64url all qualify)."""
    if not _EVENT_ID.fullmatch(value):
        raise ValueError(
            f"must be 1 to {MAX_EVENT_ID_LENGTH} characters among A-Z, a-z, 0-9, '-' and '_'"
        )
    return value


EventId = Annotated[StrictStr, AfterValidator(_check_event_id)] | None


def _check_props(props: dict[str, Any]) -> dict[str, Any]:
    """Custom properties: a flat object of at most 30 scalar values, with bounded sizes."""
    if len(props) > MAX_PROPS:
        raise ValueError(f"at most {MAX_PROPS} properties")
    for key, value in props.items():
        if not 1 <= len(key) <= MAX_PROP_KEY_LENGTH:
            raise ValueError(f"property names must be 1 to {MAX_PROP_KEY_LENGTH} characters")
        if isinstance(value, str):
            if len(value) > MAX_PROP_VALUE_LENGTH:
                raise ValueError(
                    f"{key}: string values must be at most {MAX_PROP_VALUE_LENGTH} characters"
                )
        elif not isinstance(value, bool | int | float) or value is None:
            raise ValueError(f"{key}: values must be strings, numbers or booleans")
        elif isinstance(value, float) and not math.isfinite(value):
            # NaN and Infinity are not JSON; pydantic's parser reads them, the stores cannot.
            raise ValueError(f"{key}: numbers must be finite")
        elif isinstance(value, int) and not -MAX_PROP_INT <= value <= MAX_PROP_INT:
            raise ValueError(f"{key}: integers must fit in 64 bits; send larger ids as strings")
    return props


Props = Annotated[dict[str, Any], AfterValidator(_check_props)] | None
ScreenWidth = Annotated[StrictInt, Field(ge=0, le=100_000)] | None


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TrackerHit(_Payload):
    """Body of `POST /api/event`, as the tracker sends it."""

    websiteId: WebsiteId
    name: EventName = "pageview"
    url: Url
    referrer: OptionalUrl = None
    screenWidth: ScreenWidth = None
    props: Props = None
    eventId: EventId = None


class ServerEvent(_Payload):
    """One event of `POST /api/v1/events`: the tracker's fields plus server-side ones."""

    name: EventName = "pageview"
    url: Url
    referrer: OptionalUrl = None
    screenWidth: ScreenWidth = None
    props: Props = None
    timestamp: AwareDatetime | None = None
    eventId: EventId = None
    visitorId: (
        Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_VISITOR_ID_LENGTH)]
        | None
    ) = None
    ip: Annotated[StrictStr, StringConstraints(max_length=64)] | None = None
    userAgent: Annotated[StrictStr, StringConstraints(max_length=MAX_USER_AGENT_LENGTH)] | None = (
        None
    )


class ServerBatch(_Payload):
    """Body of `POST /api/v1/events`."""

    events: Annotated[list[ServerEvent], Field(min_length=1)]


def _describe(error: ValidationError) -> str:
    first = error.errors(include_input=False, include_url=False)[0]
    if first["type"] == "json_invalid":
        return "Malformed JSON body"
    if first["type"] == "dict_type" or first["type"] == "model_type":
        first = {**first, "msg": "must be a JSON object"}
    loc = [str(part) for part in first["loc"]]
    if not loc:
        return "Body must be a JSON object"
    path = loc[0] + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in loc[1:])
    message = first["msg"]
    if first["type"] == "value_error":
        message = str(first["ctx"]["error"]) if "ctx" in first else message
    elif first["type"].startswith("datetime") or first["type"] == "timezone_aware":
        message = "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-26T09:00:00Z"
    elif first["type"] == "missing":
        message = "is required"
    elif first["type"] == "extra_forbidden":
        message = "is not allowed"
    more = error.error_count() - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{path}: {message}{suffix}"


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: bytes) -> M:
    """Validate a JSON body against `model`, raising `BadRequest` that names the field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise BadRequest(_describe(error)) from None
