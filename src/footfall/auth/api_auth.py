"""Bearer-token authentication of the API, with the Realtime spec's checks in the spec's order.

1. `Authorization` missing, not Bearer, or empty            -> 401 MISSING_HEADER
2. token not well formed (prefix, length, alphabet, checksum) -> 401 INVALID_FORMAT
3. `websiteId` absent or empty                              -> 400
4. no such website                                          -> 404
5. the website has no active token                          -> 401 NO_TOKEN_CONFIGURED
6. the token is not one of that website's                   -> 401 INVALID_TOKEN

The token is hashed and looked up among the site's digests, then compared in constant time.
"""

from __future__ import annotations

from typing import Protocol

from footfall.auth import tokens
from footfall.errors import BadRequest, NotFound, Unauthorized
from footfall.storage.models import SiteAuth

MISSING_HEADER = "Missing or invalid authorization header. Expected: Bearer <token>"
INVALID_FORMAT = "Invalid token format"
WEBSITE_ID_REQUIRED = "websiteId is required"
WEBSITE_NOT_FOUND = "Website not found"
NO_TOKEN_CONFIGURED = "No API token configured for this website"  # noqa: S105
INVALID_TOKEN = "Invalid API token"  # noqa: S105 - an error message, not a secret


class SiteAuthSource(Protocol):
    async def site_auth(self, site_id: str) -> SiteAuth | None: ...

    async def site_auth_for_token(self, token_hash: str) -> SiteAuth | None: ...


# Well-formed tokens seen recently -> their digest. A client polling every few seconds then
# costs one dict lookup instead of a checksum and a SHA-256. Bounded: cleared when full.
_digests: dict[str, str] = {}
_DIGEST_CACHE_LIMIT = 10_000


def bearer_token(header: str | None) -> str:
    """The well-formed token of an `Authorization: Bearer …` header (checks 1 and 2)."""
    if not header:
        raise Unauthorized(MISSING_HEADER)
    scheme, _, rest = header.strip().partition(" ")
    token = rest.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(MISSING_HEADER)
    if token not in _digests:
        if not tokens.is_well_formed(token):
            raise Unauthorized(INVALID_FORMAT)
        if len(_digests) >= _DIGEST_CACHE_LIMIT:
            _digests.clear()
        _digests[token] = tokens.hash_token(token)
    return token


def token_digest(token: str) -> str:
    """The digest of a token returned by `bearer_token`."""
    return _digests.get(token) or tokens.hash_token(token)


def _matching_token_id(auth: SiteAuth, token: str) -> str | None:
    """Compare the token's digest with every active digest of the site, in constant time."""
    digest = token_digest(token)
    found = None
    for stored, token_id in auth.tokens:
        if tokens.digests_equal(stored, digest):
            found = token_id
    return found


async def authorize_site(
    source: SiteAuthSource, header: str | None, website_id: str | None
) -> tuple[SiteAuth, str]:
    """Checks 1 to 6 for a request naming its website; returns the site and the token's id."""
    token = bearer_token(header)
    if not website_id:
        raise BadRequest(WEBSITE_ID_REQUIRED)
    auth = await source.site_auth(website_id)
    if auth is None:
        raise NotFound(WEBSITE_NOT_FOUND)
    if not auth.tokens:
        raise Unauthorized(NO_TOKEN_CONFIGURED)
    token_id = _matching_token_id(auth, token)
    if token_id is None:
        raise Unauthorized(INVALID_TOKEN)
    return auth, token_id


async def authorize_token(source: SiteAuthSource, header: str | None) -> tuple[SiteAuth, str]:
    """For requests whose site is the token's own (server-side events): checks 1, 2, 6."""
    token = bearer_token(header)
    auth = await source.site_auth_for_token(token_digest(token))
    if auth is None:
        raise Unauthorized(INVALID_TOKEN)
    token_id = _matching_token_id(auth, token)
    if token_id is None:
        raise Unauthorized(INVALID_TOKEN)
    return auth, token_id
