#!/usr/bin/env bash
# THE main job of the quick start, on the embedded default: starts the local Kubernetes/Calico API
# emulator, runs `ansible-playbook clusteredge.calico.hostendpoints` with docs/examples/hostendpoints.yml
# through a kubeconfig (first run creates, second run must change nothing), prints what it did, and
# stops the emulator again. Leaves nothing running. Needs no root once scripts/bootstrap.sh has run
# (bootstrap installs Debian packages with apt-get, which does need root).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
bash scripts/bootstrap.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh

WORK="$(mktemp -d)"
EMULATOR_PID=""
cleanup() {
    if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

python -m emulator serve --port 0 --state-file "$WORK/state.json" --kubeconfig "$WORK/kubeconfig" >"$WORK/emulator.log" 2>&1 &
EMULATOR_PID=$!
for _ in $(seq 1 100); do
    [ -s "$WORK/state.json" ] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$WORK/emulator.log" >&2; exit 1; }
    sleep 0.1
done
[ -s "$WORK/state.json" ] || { echo "demo: the API emulator did not start" >&2; exit 1; }
echo "demo: Kubernetes + Calico API emulator at $(head -n1 "$WORK/emulator.log"), kubeconfig $WORK/kubeconfig"

export K8S_AUTH_KUBECONFIG="$WORK/kubeconfig" TMPDIR="$WORK" ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-}"
for run in first second; do
    echo
    echo "demo: $run run of: ansible-playbook clusteredge.calico.hostendpoints -e @docs/examples/hostendpoints.yml"
    ansible-playbook -i localhost, clusteredge.calico.hostendpoints -e @docs/examples/hostendpoints.yml | tee "$WORK/$run.out" |
        sed -n '/^TASK \[Summarise/,/^PLAY RECAP/p;/^localhost/p'
done
grep -q 'changed=0' "$WORK/second.out" || { echo "demo: the second run changed something: not idempotent" >&2; exit 1; }
echo
echo "demo: done; the second run changed nothing. The emulator is stopped on exit."
