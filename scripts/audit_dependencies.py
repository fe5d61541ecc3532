"""Dependency audit (`make lint`, hence CI): fail on a known vulnerability in an installed package.

pip-audit does the audit. Its default service is PyPI's per-release JSON API
(`/pypi/<name>/<version>/json`), whose `vulnerabilities` come from the OSV database; the
OSV service itself (api.osv.dev) is not reachable from every machine this project runs on.

Three outcomes, decided before auditing by asking that API about one installed release:

- **It answers**: `pip-audit --strict` audits every installed package (the project itself
  excepted); a vulnerability, or a package it could not audit, fails the run.
- **It does not answer at all** (network trouble): retried with backoff, three times over about
  a minute, so a hiccup does not fail CI; an outage that outlasts that fails the run, as it
  would fail the installation step before it anyway.
- **It answers, but the per-release API is missing** (404 for a release that exists; seen
  behind registry proxies that serve the package index and project pages only): pip-audit
  cannot audit anything there. The project page (`/pypi/<name>/json`), which lists the
  advisories of a package's *latest* release, is used instead: every package installed at
  its latest release is audited that way, and a vulnerability fails the run; packages behind
  their latest release are listed as not audited. The run says so loudly, rather than
  passing as if audited.
"""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

PYPI = "https://pypi.org/pypi"
ATTEMPTS = 3
BACKOFF = (5.0, 20.0)
TIMEOUT = 15.0
IGNORED: dict[str, str] = {}
"""Vulnerability id -> why it does not apply (passed to pip-audit as --ignore-vuln)."""


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def _with_retries(url: str) -> tuple[int, bytes]:
    """GET with retries on network errors and 5xx; raises after the last attempt."""
    for attempt in range(ATTEMPTS):
        try:
            status, body = _get(url)
            if status < 500:
                return status, body
            problem = f"HTTP {status}"
        except (OSError, TimeoutError) as error:
            problem = str(error)
        if attempt < len(BACKOFF):
            print(f"audit: {url}: {problem}; retrying", file=sys.stderr)
            time.sleep(BACKOFF[attempt])
    raise SystemExit(f"audit: PyPI did not answer {url} ({problem}); failing rather than guessing")


def _installed() -> dict[str, str]:
    """Installed distributions (name -> version), the project itself left out."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() != "footfall":
            found[name.lower()] = dist.version
    return found


def _pip_audit() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--strict",
        "--local",
        "--skip-editable",
        "--progress-spinner",
        "off",
        *(arg for vuln in IGNORED for arg in ("--ignore-vuln", vuln)),
    ]
    for attempt in range(ATTEMPTS):
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        print(result.stdout, end="")
        if result.returncode == 0 or "Found " in result.stdout:  # clean, or vulnerabilities
            print(result.stderr, end="", file=sys.stderr)
            return result.returncode
        if attempt < len(BACKOFF):  # a network failure midway: try again
            print("audit: pip-audit failed; retrying\n" + result.stderr[-2000:], file=sys.stderr)
            time.sleep(BACKOFF[attempt])
    print(result.stderr, end="", file=sys.stderr)
    return result.returncode or 1


def _latest_release_audit(installed: dict[str, str]) -> int:
    vulnerable, behind = [], []
    names = sorted(installed)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        pages = pool.map(lambda name: _with_retries(f"{PYPI}/{name}/json"), names)
    for name, (status, body) in zip(names, pages, strict=True):
        version = installed[name]
        if status != 200:
            behind.append(f"{name} {version} (not on PyPI)")
            continue
        project = json.loads(body)
        if project["info"]["version"] != version:
            behind.append(f"{name} {version} (latest {project['info']['version']})")
            continue
        for vuln in project.get("vulnerabilities", []):
            if vuln["id"] not in IGNORED and not vuln.get("withdrawn"):
                fixed = ", ".join(vuln.get("fixed_in") or []) or "no fix yet"
                vulnerable.append(f"{name} {version}: {vuln['id']} (fixed in: {fixed})")
    audited = len(installed) - len(behind)
    print(
        "audit: PyPI's per-release API is not available here, so pip-audit cannot run; "
        f"audited {audited} of {len(installed)} packages at their latest release instead."
    )
    if behind:
        print("audit: NOT audited (behind their latest release):\n  " + "\n  ".join(behind))
    if vulnerable:
        print("audit: known vulnerabilities:\n  " + "\n  ".join(vulnerable))
        return 1
    print("audit: no known vulnerabilities in the audited packages")
    return 0


def main() -> int:
    installed = _installed()
    probe_name, probe_version = "pip", installed.get("pip") or next(iter(installed.values()))
    if "pip" not in installed:
        probe_name = next(iter(installed))
    status, _ = _with_retries(f"{PYPI}/{probe_name}/{probe_version}/json")
    if status == 200:
        return _pip_audit()
    if status == 404:
        return _latest_release_audit(installed)
    raise SystemExit(f"audit: PyPI answered HTTP {status} for a release that exists")


if __name__ == "__main__":
    sys.exit(main())
