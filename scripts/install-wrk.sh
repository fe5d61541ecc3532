#!/usr/bin/env bash
# The bench's load generator: Debian's `wrk` (LuaJIT-scripted HTTP load). `python -m bench`
# runs this itself when `wrk` is missing; it is idempotent.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing wrk from Debian's packages for the benchmarks..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
