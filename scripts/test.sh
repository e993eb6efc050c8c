#!/usr/bin/env bash
# The whole suite: lint, type check, import contracts, then every test tier.
# PostgreSQL is used when it answers; under CI=true a missing PostgreSQL is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
if [ -z "${CALLCENTER_TEST_PG:-}" ]; then
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    export CALLCENTER_TEST_PG="postgresql://postgres@127.0.0.1:5432/postgres"
  elif [ "${CI:-}" = "true" ]; then
    echo "CI=true but PostgreSQL does not answer at 127.0.0.1:5432" >&2
    exit 1
  fi
fi
echo "== ruff";   $BIN/ruff check src tests bench
echo "== format"; $BIN/ruff format --check src tests bench
echo "== mypy";   $BIN/mypy
echo "== import contracts"; $BIN/lint-imports
echo "== pytest"
$BIN/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
