"""Chromium for the browser tests: launch, deadlines, and evidence kept when a test fails.

Test modules import the `playwright` and `browser` fixtures from here; a folder's conftest
imports `pytest_runtest_makereport`, so that `failed` can tell a fixture's teardown whether the
test failed (and it saves screenshots under `test-artifacts/`).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # the deadline of every wait on the browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's outcome, so browser fixtures can keep evidence of a failure."""
    report: pytest.TestReport = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


def failed(item: pytest.Item) -> bool:
    """True when the test's setup or body failed (checked from a fixture's teardown)."""
    return any(report.failed for report in item.stash.get(PHASE_REPORTS, {}).values())


def evidence_stem(item: pytest.Item) -> Path:
    """Where a failed test's evidence goes: `test-artifacts/<test name>` plus a suffix."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()
