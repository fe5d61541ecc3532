"""The browser scripts, served by the server as static assets: the tracker (`script.js`) and
the live-counter widget (`widget.js`)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files


def _asset(name: str) -> tuple[bytes, str]:
    source = files(__package__).joinpath(name).read_bytes()
    return source, '"' + hashlib.sha256(source).hexdigest()[:16] + '"'


@cache
def script() -> tuple[bytes, str]:
    """The tracker's source and its ETag."""
    return _asset("script.js")


@cache
def widget() -> tuple[bytes, str]:
    """The live-counter widget's source and its ETag."""
    return _asset("widget.js")
