"""Schemathesis against a real `footfall serve` process, on both tiers (the embedded one, and
cluster mode on PostgreSQL + Redis): every operation of `/openapi.json`,
with valid and invalid input generated from the schema, with and without a real website id
and token. The server must never answer 5xx (beyond the documented 503s of an unavailable
backend, which this healthy server never has), must answer only documented statuses with the
documented content type and shape, and must reject invalid input with a 4xx.

Bounded: `EXAMPLES` cases per operation and mode (about a second per operation).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from footfall.api.openapi import document
from tests.backends import PG_ADMIN_URL, REDIS_URL
from tests.serverproc import footfall_cli, footfall_server

pytestmark = pytest.mark.slow

EXAMPLES = 25
# Invalid input must get a 4xx: the statuses the API documents for refusing it.
REFUSALS = ["400", "401", "404", "408", "413", "415", "422", "429"]
SCHEMA = schemathesis.openapi.from_dict(
    document(),
    config=schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    ),
)
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}
# Operations that take input (only those have invalid input to generate).
WITH_INPUT = sorted(
    f"{method.upper()} {path}"
    for path, methods in document()["paths"].items()
    for method, operation in methods.items()
    if operation.get("parameters") or operation.get("requestBody")
)
CASES = [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)] + [
    (label, GenerationMode.NEGATIVE) for label in WITH_INPUT
]
# Rate limits off: the fuzzer sends hundreds of requests from one address with one token;
# the limits have their own tests.
ENV = {
    "FOOTFALL_RATE_LIMIT_REALTIME_PER_SECOND": "0",
    "FOOTFALL_RATE_LIMIT_STATS_PER_SECOND": "0",
    "FOOTFALL_RATE_LIMIT_INGEST_CLIENT_PER_SECOND": "0",
    "FOOTFALL_RATE_LIMIT_INGEST_SITE_PER_SECOND": "0",
}


@dataclass
class Api:
    url: str
    site_id: str
    token: str


@pytest.fixture(scope="module", params=["embedded", "cluster"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    env = dict(ENV)
    database = None
    if request.param == "cluster":
        database = f"footfall_fuzz_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        env |= {
            "FOOTFALL_DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{database}",
            "FOOTFALL_REDIS_URL": REDIS_URL,
            "FOOTFALL_REDIS_PREFIX": database,
        }
    try:
        site_id = footfall_cli("sites", "add", "example.com", data_dir=data_dir, env=env)
        token = footfall_cli(
            "tokens", "create", site_id.stdout.split()[-1], data_dir=data_dir, env=env
        )
        with footfall_server(data_dir, env=env) as server:
            yield Api(server.url, site_id.stdout.split()[-1], token.stdout.split()[-1])
            log = server.log()
    finally:
        if database is not None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert "Traceback" not in log, log[-4000:]
    assert "unhandled error" not in log, log[-4000:]


def test_every_route_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 10
    assert "POST /api/event" in OPERATIONS and "GET /api/v1/realtime" in OPERATIONS


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_operation(api: Api, label: str, mode: GenerationMode) -> None:
    operation = OPERATIONS[label]
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        real_site=st.booleans(),
        real_token=st.booleans(),
    )
    def run(case: schemathesis.Case, real_site: bool, real_token: bool) -> None:
        headers = {"Authorization": f"Bearer {api.token}"} if real_token else None
        if real_site and isinstance(case.query, dict) and "websiteId" in case.query:
            case.query["websiteId"] = api.site_id
        if real_site and isinstance(case.body, dict) and "websiteId" in case.body:
            case.body["websiteId"] = api.site_id
        response = case.call(base_url=api.url, headers=headers, timeout=30)
        case.validate_response(response, checks=checks, headers=headers)

    run()
    assert httpx.get(f"{api.url}/healthz", timeout=10).status_code == 200
