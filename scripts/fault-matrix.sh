#!/usr/bin/env bash
# The fault matrix, run independently of the test suite. Targets: every API step of a clean run of
# calico_clusterip_exposure (module), of an update run with one Service fewer (module-update: updates,
# a delete, a pin removal), and chosen steps of the clusterip_exposure role run through
# clusteredge.calico.expose on three local hosts (role: a sample; --role-full for every kind there),
# x the fault kinds 429 + Retry-After, 500, 503, connection reset before and after the server applied
# a write, 409 from another writer, and a persistent 500. Prints a step x fault-kind table per target;
# exits non-zero if any cell went wrong.
#   scripts/fault-matrix.sh [--target module|module-update|role|all] [--jobs N] [--quick] [--role-full] [--workdir DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
bash scripts/bootstrap.sh >/dev/null
# shellcheck source=scripts/env.sh
. scripts/env.sh
# tests/faultmatrix is part of the test suite, not of the installed test world
PYTHONPATH="$PWD/tests${PYTHONPATH:+:$PYTHONPATH}" exec python -m faultmatrix "$@"
