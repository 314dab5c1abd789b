#!/usr/bin/env bash
# Install what the tests need (a virtualenv with the pinned packages; Debian's Chromium for the
# browser tests, bubblewrap for the tool-code sandbox and PostgreSQL for the store tests) and run the
# lint, the type check and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# Playwright cannot download its own browsers here; Debian's chromium works.
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_if_needed=""
  [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The store tests run on SQLite always and on a throwaway PostgreSQL cluster (stopped at exit).
# shellcheck source=scripts/throwaway_postgres.sh
source scripts/throwaway_postgres.sh
start_throwaway_postgres

.venv/bin/ruff check .
.venv/bin/python -m mypy
.venv/bin/python -m pytest "$@"
