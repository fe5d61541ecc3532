"""Footfall's exceptions, one hierarchy.

    FootfallError
    ├── ApiError                 reaches HTTP: carries a status and a user-facing message
    │   ├── BadRequest           400: malformed or invalid input (names the field)
    │   ├── Unauthorized         401: answered with `WWW-Authenticate: Bearer`
    │   ├── Forbidden            403: a valid credential that does not allow this
    │   ├── NotFound             404
    │   ├── PayloadTooLarge      413
    │   ├── UnsupportedMedia     415
    │   ├── RequestTimeout       408: the client was too slow to send its body
    │   ├── TooManyRequests      429: a rate limit; carries `Retry-After` and `RateLimit-*`
    │   └── ServiceUnavailable   503: carries `Retry-After`
    │       ├── BackendUnavailable   a database or cache is down (names which)
    │       └── QueryTimeout         a stats query ran past its time limit
    ├── NotFoundError            a CLI/domain lookup that found nothing (site, token)
    ├── StoreInUse               the embedded event store is locked by another process
    └── GeoDatabaseError         the configured IP geolocation database cannot be used

`api.responses.error_response` is the one place an `ApiError` becomes `{"error": "..."}`;
anything else that escapes a handler is logged and answered with the spec's generic 500.
"""

from __future__ import annotations


class FootfallError(Exception):
    """Base of every error Footfall raises on purpose."""


class ApiError(FootfallError):
    """An error whose message is safe to show to the API caller."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMedia(ApiError):
    status = 415


class RequestTimeout(ApiError):
    status = 408


class TooManyRequests(ApiError):
    """A rate limit was reached; `headers` (Retry-After, RateLimit-*) tell when to retry."""

    status = 429

    def __init__(self, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(f"Too many requests; retry in {retry_after} seconds")
        self.retry_after = retry_after
        self.headers = headers


class ServiceUnavailable(ApiError):
    status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendUnavailable(ServiceUnavailable):
    """A backend (metadata database, event store, presence cache) cannot be reached."""

    def __init__(self, backend: str, retry_after: int = 5) -> None:
        super().__init__(f"The {backend} backend is unavailable; retry shortly", retry_after)
        self.backend = backend


class QueryTimeout(ServiceUnavailable):
    """A read query (stats) ran past its time limit and was cancelled."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The query took longer than {seconds:g} seconds and was cancelled; "
            "try a shorter period or fewer filters",
            retry_after=5,
        )


class NotFoundError(FootfallError):
    """A site or token named by a CLI command or domain call does not exist."""


class StoreInUse(FootfallError):
    """The embedded tier's event store is opened by another process."""


class GeoDatabaseError(FootfallError):
    """`FOOTFALL_GEOIP_DATABASE` names a file that is missing or not a usable MaxMind DB."""
