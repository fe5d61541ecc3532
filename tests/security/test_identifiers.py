"""Identifiers that must not be guessable: website ids are random UUIDs (version 4: 122 random
bits), API tokens carry 178 random bits from the `secrets` module; and token-shaped text is
redacted wherever it could be logged or echoed."""

from __future__ import annotations

import uuid
from pathlib import Path

from footfall.auth import tokens
from footfall.storage.meta import SqlMetaStore


async def test_website_ids_are_random_uuids(tmp_path: Path) -> None:
    meta = await SqlMetaStore.open(database_url=None, sqlite_path=tmp_path / "meta.sqlite3")
    try:
        ids = [(await meta.create_site(f"s{i}.example.com", None, 1.0)).id for i in range(100)]
    finally:
        await meta.close()
    assert len(set(ids)) == len(ids)
    for site_id in ids:
        parsed = uuid.UUID(site_id)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == site_id  # the canonical lower-case form the API checks for
    # Not sequential in any position that a guesser could walk.
    assert len({site_id[:8] for site_id in ids}) == len(ids)


def test_tokens_are_random_and_well_formed() -> None:
    made = [tokens.generate_token() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert all(tokens.is_well_formed(token) for token in made)
    for position in (3, 17, 32):  # every symbol of the alphabet turns up at random positions
        assert len({token[position] for token in made}) == len(tokens.ALPHABET)


def test_token_shaped_text_is_redacted() -> None:
    token = tokens.generate_token()
    redacted = tokens.redact(f"GET /x/{token}?a=b and {token}.")
    assert token not in redacted
    assert redacted == f"GET /x/{token[:9]}…?a=b and {token[:9]}…."
    assert tokens.redact("vt_ab and pk_live_123") == "vt_ab and pk_live_123"
