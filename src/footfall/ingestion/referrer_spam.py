"""Referrer spam: sites that fake visits so that their address shows up in analytics reports.

The blocklist is Matomo's community-maintained list of referrer spammers (public domain),
shipped as `referrer_spammers.txt` beside this module and read once. A referring host is spam
when it is a listed host or a subdomain of one (`semalt.com` covers `x.semalt.com`; Matomo
matches substrings, a suffix match avoids hitting unrelated hosts that merely contain a
listed name). Checking a host walks its suffixes: a few set lookups.
"""

from __future__ import annotations

import functools
from importlib import resources
from urllib.parse import urlsplit

LIST_FILE = "referrer_spammers.txt"


@functools.cache
def spammers() -> frozenset[str]:
    """The listed hosts, lower-cased (comments and blank lines skipped)."""
    text = resources.files(__package__).joinpath(LIST_FILE).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def is_spam_host(host: str) -> bool:
    """True when `host` is a listed spammer or a subdomain of one."""
    listed = spammers()
    candidate = host.lower().rstrip(".")
    while candidate:
        if candidate in listed:
            return True
        _, _, candidate = candidate.partition(".")
    return False


def is_spam_referrer(referrer: str) -> bool:
    """True when the referrer URL's host is referrer spam (unparseable URLs are not)."""
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return False
    return bool(host) and is_spam_host(host or "")
