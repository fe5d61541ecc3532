"""The server process's settings: uvicorn's options and the process tuning that goes with them."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from footfall import guarded_http
from footfall.config import Settings
from footfall.serving import GC_THRESHOLDS, uvicorn_options


def test_serving_options_bound_clients_and_tune_the_collector() -> None:
    # In a child process: the thresholds are process-wide and the test run keeps its own.
    probe = (
        "import gc, json; from footfall.config import Settings; "
        "from footfall.serving import uvicorn_options; "
        "before = gc.get_threshold(); uvicorn_options(Settings()); "
        "print(json.dumps([before, gc.get_threshold()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    before, after = json.loads(result.stdout)
    assert before == [700, 10, 10]  # CPython's default, so the change is the server's doing
    assert after == list(GC_THRESHOLDS)


def test_uvicorn_options_use_the_guarded_protocol_and_the_settings_limits() -> None:
    thresholds = gc.get_threshold()
    try:
        options = uvicorn_options(Settings(max_concurrency=123))
    finally:
        gc.set_threshold(*thresholds)
    assert options["http"] is guarded_http.GuardedHttpToolsProtocol
    assert options["limit_concurrency"] == 123
    assert options["proxy_headers"] is False
