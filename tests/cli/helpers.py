"""Run `footfall` as a separate process, as a user does, and read what it printed.

`Cli` runs every command against one data folder, either through `FOOTFALL_DATA_DIR` (the way
`tests.serverproc.footfall_cli` passes it) or through an explicit `--data-dir` while the
environment variable points at a decoy folder, so a test in "flag" mode fails if the option
were ignored.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serverproc import footfall_cli

TOKEN_RE = re.compile(r"^vt_[0-9A-Za-z]{36}$")
CLI_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@dataclass
class Cli:
    """The `footfall` command line bound to one data folder."""

    data_dir: Path
    mode: str = "env"  # "env": FOOTFALL_DATA_DIR; "flag": --data-dir (env points elsewhere)

    @property
    def decoy_dir(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-decoy-env"

    def _args(self, args: tuple[str, ...]) -> tuple[tuple[str, ...], Path]:
        if self.mode == "flag":
            return (*args, "--data-dir", str(self.data_dir)), self.decoy_dir
        return args, self.data_dir

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `footfall ARGS`; the caller checks the exit code."""
        full, env_dir = self._args(args)
        if stdin is None:
            return footfall_cli(*full, data_dir=env_dir, check=False)
        # footfall_cli takes no input: the same invocation, with text on stdin.
        return subprocess.run(
            [sys.executable, "-m", "footfall", *full],
            env={**os.environ, "FOOTFALL_DATA_DIR": str(env_dir)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def ok(self, *args: str) -> str:
        """Run `footfall ARGS`, require success and an empty stderr; return stdout."""
        result = self.run(*args)
        assert result.returncode == 0, (
            f"footfall {' '.join(args)} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        assert result.stderr == "", result.stderr
        return result.stdout

    def fails(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `footfall ARGS` and require exit code 1 with an `Error: …` line on stderr."""
        result = self.run(*args)
        assert result.returncode == 1, (
            f"footfall {' '.join(args)} exited {result.returncode}, expected 1\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        assert result.stderr.startswith("Error: "), result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    # -- shortcuts ------------------------------------------------------------------------

    def add_site(self, domain: str = "example.com", name: str | None = None) -> str:
        args = ("sites", "add", domain) + (("--name", name) if name else ())
        site_id: str = self.json(*args)["websiteId"]
        return site_id

    def site_ids(self) -> list[str]:
        return [row["websiteId"] for row in self.json("sites", "list")]

    def create_token(self, site_id: str, *extra: str) -> str:
        """`tokens create`: the token is the last line of stdout."""
        token = self.ok("tokens", "create", site_id, *extra).splitlines()[-1]
        assert TOKEN_RE.match(token), token
        return token

    def tokens(self, site_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.json("tokens", "list", site_id)
        return rows
