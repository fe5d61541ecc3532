#!/usr/bin/env bash
# Debian's Chromium for the browser tests: Playwright drives /usr/bin/chromium, because a
# browser build of Playwright's own cannot be downloaded here.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing Chromium from Debian's packages for the browser tests..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
