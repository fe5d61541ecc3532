"""The two ingestion payloads, their limits, and turning validation failures into 400s.

Types are strict: `"screenWidth": "1920"` is a wrong type, not a number. Unknown fields are
ignored so that newer trackers keep working against older servers. Error messages name the
field and never echo the offending value.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
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
MAX_USER_AGENT_LENGTH = 1024
MAX_VISITOR_ID_LENGTH = 256

WebsiteId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
EventName = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH)
]
Url = Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]
OptionalUrl = Annotated[StrictStr, StringConstraints(max_length=MAX_URL_LENGTH)] | None
PropKey = Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_PROP_KEY_LENGTH)]
PropValue = (
    Annotated[StrictStr, StringConstraints(max_length=MAX_PROP_VALUE_LENGTH)]
    | StrictBool
    | StrictInt
    | StrictFloat
)
Props = Annotated[dict[PropKey, PropValue], Field(max_length=MAX_PROPS)] | None
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


class ServerEvent(_Payload):
    """One event of `POST /api/v1/events`: the tracker's fields plus server-side ones."""

    name: EventName = "pageview"
    url: Url
    referrer: OptionalUrl = None
    screenWidth: ScreenWidth = None
    props: Props = None
    timestamp: AwareDatetime | None = None
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
    loc = [str(part) for part in first["loc"]]
    if not loc:
        return "Body must be a JSON object"
    path = loc[0] + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in loc[1:])
    message = first["msg"]
    if first["type"] == "missing":
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
