"""API token format: prefix, length, alphabet, checksum, hashing."""

from __future__ import annotations

import re

from footfall.auth import tokens


def test_generated_tokens_are_well_formed_and_distinct() -> None:
    generated = {tokens.generate_token() for _ in range(500)}
    assert len(generated) == 500
    for token in generated:
        assert re.fullmatch(r"vt_[0-9A-Za-z]{36}", token)
        assert tokens.is_well_formed(token)


def test_every_single_character_typo_is_caught() -> None:
    token = tokens.generate_token()
    caught = 0
    total = 0
    for i in range(3, len(token)):
        for replacement in "0aZ9":
            if replacement == token[i]:
                continue
            total += 1
            mistyped = token[:i] + replacement + token[i + 1 :]
            caught += not tokens.is_well_formed(mistyped)
    assert caught == total


def test_wrong_prefix_length_and_alphabet() -> None:
    token = tokens.generate_token()
    assert not tokens.is_well_formed("xt_" + token[3:])
    assert not tokens.is_well_formed(token[:-1])
    assert not tokens.is_well_formed(token + "A")
    assert not tokens.is_well_formed(token[:5] + "_" + token[6:])
    assert not tokens.is_well_formed("")


def test_hash_and_prefix() -> None:
    token = tokens.generate_token()
    digest = tokens.hash_token(token)
    assert len(digest) == 64 and token not in digest
    assert tokens.digests_equal(digest, tokens.hash_token(token))
    assert not tokens.digests_equal(digest, tokens.hash_token(tokens.generate_token()))
    assert tokens.display_prefix(token) == token[:9]
