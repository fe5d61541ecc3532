"""Tracker tests: remember each test phase's outcome so fixtures can keep evidence of failures."""

from __future__ import annotations

from collections.abc import Generator

import pytest

PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


def failed(item: pytest.Item) -> bool:
    """True when the test's setup or body failed (checked from a fixture's teardown)."""
    reports = item.stash.get(PHASE_REPORTS, {})
    return any(report.failed for report in reports.values())
