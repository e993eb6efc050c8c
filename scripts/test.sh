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
PYTEST=($BIN/python -m pytest -q -p no:cacheprovider)
if [ $# -gt 0 ]; then  # tests named on the command line: one pytest, as asked
  echo "== pytest $*"
  exec "${PYTEST[@]}" --durations=25 "$@"
fi
# The whole suite as two pytest processes at once, to use both cores: the end-to-end and browser
# tiers (real servers and peers, mostly waiting on timers and the network) in the foreground,
# the unit, protocol and component tiers (mostly CPU) beside them, their output shown after.
# Their resources do not meet: PostgreSQL tests create databases/schemas of their own, servers
# and peers take free ports, RTP pools skip ports held elsewhere. Each exits non-zero when it
# fails or runs no test; either failing fails the run.
for d in tests/*/; do  # every tier is in one of the two runs
  case "$d" in tests/unit/|tests/protocol/|tests/component/|tests/e2e/|tests/ui/|tests/__pycache__/) ;;
    *) echo "scripts/test.sh: $d is in neither pytest run" >&2; exit 1 ;;
  esac
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The unit run tests the ACD core's Python sources (for coverage and readable tracebacks);
# tests/component/native/test_acd_compiled.py runs its unit tests again on the mypyc build,
# and the e2e servers use the build, as `make run` does.
echo "== pytest: tests/unit tests/protocol tests/component (in the background, output below)"
CALLCENTER_ACD_COMPILED=0 CALLCENTER_EXPECT_ACD_COMPILED=0 \
  "${PYTEST[@]}" --durations=15 tests/unit tests/protocol tests/component >"$log" 2>&1 &
cores=$!
echo "== pytest: tests/e2e tests/ui"
edge=0
"${PYTEST[@]}" --durations=15 tests/e2e tests/ui || edge=$?
core=0
wait "$cores" || core=$?
echo "== pytest: tests/unit tests/protocol tests/component"
cat "$log"
if [ "$edge" -ne 0 ] || [ "$core" -ne 0 ]; then
  echo "pytest failed: e2e/ui exit $edge, unit/protocol/component exit $core" >&2
  exit 1
fi
