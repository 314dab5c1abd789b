#!/usr/bin/env bash
# Install what the tests need (a virtualenv with the pinned packages, Debian's Chromium for the
# browser tests) and run the lint and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium_path" ]; then
  # Playwright cannot download its own browsers here; Debian's chromium works.
  sudo_if_needed=""
  [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
  $sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq chromium >/dev/null
fi

if ! command -v bwrap >/dev/null 2>&1; then
  # The Python tool runner isolates calls with bubblewrap's namespaces where it is installed.
  sudo_if_needed=""
  [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
  $sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq bubblewrap >/dev/null
fi

.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
