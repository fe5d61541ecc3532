"""The CLI under test, run as separate processes on a data folder of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI through FOOTFALL_DATA_DIR."""
    return Cli(tmp_path / "data")


@pytest.fixture(params=["env", "flag"])
def any_cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """The CLI through FOOTFALL_DATA_DIR, then through --data-dir."""
    return Cli(tmp_path / "data", mode=request.param)
