"""Property tests of the ingestion parsers (`ingestion.payload`, `ingestion.hits`): whatever the
bytes, the answer is a parsed payload or a `BadRequest` whose message names the field and never
echoes the value — never another exception.

Then the whole path in-process, on both tiers: hostile bodies and headers through
`POST /api/event` and `POST /api/v1/events` get a 2xx or a clear 4xx, never a 500, and what was
accepted can be read back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.errors import BadRequest
from footfall.ingestion.hits import server_hits, tracker_hit
from footfall.ingestion.payload import ServerBatch, TrackerHit, parse
from footfall.storage.models import Site
from tests.hostile.strategies import deep_json, huge_numbers, json_values, nasty_text, urls

SITE = Site(id="3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10", domain="example.com", name="E", created_at=0)
NOW = 1_790_000_000.0
MARKER = "ZQXJ-secret-value"
FUZZ = settings(max_examples=150, deadline=None)

tracker_fields = st.fixed_dictionaries(
    {},
    optional={
        "websiteId": st.one_of(st.just(SITE.id), nasty_text, json_values),
        "name": st.one_of(nasty_text, json_values),
        "url": st.one_of(urls(), json_values),
        "referrer": st.one_of(urls(), json_values),
        "screenWidth": st.one_of(huge_numbers, json_values),
        "props": st.one_of(st.dictionaries(nasty_text, json_values, max_size=5), json_values),
        "eventId": st.one_of(nasty_text, json_values),
        "unknownField": json_values,
    },
)


def check_bad_request(error: BadRequest) -> None:
    assert error.status == 400
    assert 0 < len(error.message) < 400
    assert MARKER not in error.message


@FUZZ
@given(body=st.binary(max_size=400))
def test_any_bytes_parse_or_answer_400(body: bytes) -> None:
    for model in (TrackerHit, ServerBatch):
        try:
            parse(model, body)
        except BadRequest as error:
            check_bad_request(error)


@FUZZ
@given(fields=tracker_fields, user_agent=nasty_text, ip=nasty_text)
def test_tracker_bodies_become_hits_or_400(
    fields: dict[str, Any], user_agent: str, ip: str
) -> None:
    body = json.dumps(fields).encode()
    try:
        hit = tracker_hit(
            parse(TrackerHit, body), SITE, NOW, ip=ip, user_agent=user_agent, purpose=None
        )
    except BadRequest as error:
        check_bad_request(error)
        return
    assert hit.page.hostname
    assert hit.page.pathname.startswith("/")


@FUZZ
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {"url": urls()},
            optional={
                "timestamp": st.one_of(
                    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()), nasty_text
                ),
                "visitorId": nasty_text,
                "ip": st.one_of(st.ip_addresses().map(str), nasty_text),
                "userAgent": nasty_text,
                "name": nasty_text,
                "props": st.dictionaries(nasty_text, json_values, max_size=3),
            },
        ),
        max_size=4,
    )
)
def test_server_batches_become_hits_or_400(events: list[dict[str, Any]]) -> None:
    try:
        hits = server_hits(
            parse(ServerBatch, json.dumps({"events": events}).encode()), SITE, NOW, 3
        )
    except BadRequest as error:
        check_bad_request(error)
        return
    assert 1 <= len(hits) <= 3
    assert all(hit.ts <= NOW + 300 for hit in hits)


@FUZZ
@given(field=st.sampled_from(["websiteId", "name", "url", "referrer", "eventId", "screenWidth"]))
def test_messages_name_the_field_and_never_echo_the_value(field: str) -> None:
    body = {"websiteId": SITE.id, "url": "https://example.com/", field: [MARKER] * 3}
    with pytest.raises(BadRequest) as caught:
        parse(TrackerHit, json.dumps(body).encode())
    check_bad_request(caught.value)
    assert caught.value.message.startswith(field)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (deep_json(100_000).encode(), "Malformed JSON body"),
        (b'{"websiteId": "x", "url": ' + deep_json(5_000).encode() + b"}", "Malformed JSON body"),
        (b'{"websiteId": "x", "url": "https://example.com/\xff\xfe"}', "Malformed JSON body"),
        (b'{"websiteId": "x", "url": "https://example.com/\\ud800"}', "Malformed JSON body"),
        (
            b'{"websiteId": "x", "url": "https://e.com/", "screenWidth": 1' + b"0" * 5000 + b"}",
            None,
        ),
        (b'{"websiteId": "x", "url": "https://e.com/", "screenWidth": 1e400}', "screenWidth"),
        (b'{"websiteId": "x", "url": "https://e.com/", "props": {"a": NaN}}', "props"),
        (b'{"websiteId": "x", "url": "https://e.com/", "props": {"a": 1e400}}', "props"),
        (
            b'{"websiteId": "x", "url": "https://e.com/", "props": {"a": 1' + b"0" * 40 + b"}}",
            "props",
        ),
        (b'\xef\xbb\xbf{"websiteId": "x", "url": "https://e.com/"}', "Malformed JSON body"),
        (b"", "Malformed JSON body"),
        (b"null", "Body must be a JSON object"),
        (b"[]", "Body must be a JSON object"),
    ],
)
def test_hostile_bodies_answer_400(body: bytes, message: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(TrackerHit, body)
    check_bad_request(caught.value)
    if message is not None:
        assert caught.value.message.startswith(message), caught.value.message


def test_nul_bytes_are_data_not_terminators() -> None:
    body = {"websiteId": SITE.id, "url": "https://example.com/a\x00b", "name": "sign\x00up"}
    hit = tracker_hit(
        parse(TrackerHit, json.dumps(body).encode()),
        SITE,
        NOW,
        ip="203.0.113.9",
        user_agent="Mozilla/5.0\x00",
        purpose=None,
    )
    assert (hit.name, hit.page.pathname) == ("sign\x00up", "/a\x00b")


def test_the_health_check_settings_are_honest() -> None:
    """The suite's fuzz settings stay bounded (a guard against someone raising them)."""
    assert FUZZ.max_examples <= 300
    assert HealthCheck.too_slow not in FUZZ.suppress_health_check
