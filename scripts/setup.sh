#!/usr/bin/env bash
# Install everything Footfall needs to run and be tested, into .venv (idempotent).
# the package and its development tools, from PyPI. The browser tests' Chromium comes from
# scripts/install-chromium.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# setuptools too: a new venv carries Python's bundled one, which has known vulnerabilities
# (the dependency audit of `make lint` would fail on it).
"$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
