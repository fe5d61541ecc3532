"""Hypothesis profiles for the fuzz tests.

CI and `make test` run the "repeatable" profile: each test draws the same examples on every
run (derandomised, from the test's own code), so a red build always means a change, never a
newly drawn input. `HYPOTHESIS_PROFILE=explore` draws new random inputs on every run — run it
(repeatedly) to hunt for bugs, and pin what it finds with `@example` (see test_parsers.py).
"""

from __future__ import annotations

import os

from hypothesis import settings

# Hypothesis loads its own "ci" profile when it sees a CI variable; that profile suppresses the
# too_slow health check. Both of ours start from the library's defaults instead, so a run on a
# laptop and a run in CI check exactly the same things.
_DEFAULTS = settings.get_profile("default")
settings.register_profile("repeatable", parent=_DEFAULTS, derandomize=True, database=None)
settings.register_profile("explore", parent=_DEFAULTS, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
