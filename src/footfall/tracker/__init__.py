"""The browser tracker (`script.js`), served by the server as a static asset."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files


@cache
def script() -> tuple[bytes, str]:
    """The tracker's source and its ETag."""
    source = files(__package__).joinpath("script.js").read_bytes()
    return source, '"' + hashlib.sha256(source).hexdigest()[:16] + '"'
