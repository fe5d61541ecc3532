"""Content-Security-Policy for the server's own HTML pages (`/docs`, `/demo`).

Their inline `<style>` and `<script>` blocks are allowed by their SHA-256 hashes, computed from
the page as sent, so no `'unsafe-inline'` is needed: anything injected into such a page (a
markup bug, a hostile value slipping through escaping) would not run. Everything else is off
unless named. (The dashboard has its own, stricter policy: no inline code at all.)
"""

from __future__ import annotations

import base64
import hashlib
import re

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


NONE = "'none'"
SELF = "'self'"


def page_policy(page: str, *, scripts_from_self: bool = False) -> str:
    """The policy for `page`: its own inline blocks by hash; `scripts_from_self` also allows
    script files and requests (the tracker) from this server."""
    blocks = _INLINE.findall(page)
    scripts = [_hash(body) for tag, body in blocks if tag == "script"]
    styles = [_hash(body) for tag, body in blocks if tag == "style"]
    if scripts_from_self:
        scripts.insert(0, SELF)
    directives = [
        "default-src " + NONE,
        "script-src " + (" ".join(scripts) or NONE),
        "style-src " + (" ".join(styles) or NONE),
        f"img-src {SELF} data:",
        "connect-src " + (SELF if scripts_from_self else NONE),
        "base-uri " + NONE,
        "form-action " + NONE,
        "frame-ancestors " + NONE,
    ]
    return "; ".join(directives)
