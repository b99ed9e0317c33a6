#!/usr/bin/env bash
# THE test command: bootstrap (idempotent), then pytest over everything in tests/
# (unit, emulator, integration, quality gates). Extra arguments go to pytest, e.g.
#   scripts/test.sh -m "not quality"        # skip the slow quality gates
#   scripts/test.sh tests/unit -x -q
# Exit code is pytest's; "no tests collected" (5) counts as a failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
bash scripts/bootstrap.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
# exec: pytest's summary line stays the last output and its exit code is ours. Exit 5 ("no tests
# collected") is non-zero, so it already fails CI; do not wrap it into a success.
exec python -m pytest "$@"
