#!/usr/bin/env bash
# THE main job of the quick start, on the embedded default: starts the local Kubernetes + Calico API emulator
# loaded with a realistic cluster and three nodes (network namespaces running sshd), runs
#   ansible-playbook -i <nodes> clusteredge.calico.expose -e @docs/examples/services.yml
# twice (the second run must change nothing), prints the role's summary, and tears everything down.
# Needs root: network namespaces, veth links and the Debian packages bootstrap installs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
if [ "$(id -u)" -ne 0 ]; then
    echo "demo: needs root (it creates network namespaces for the test nodes and installs Debian packages)" >&2
    exit 1
fi
bash scripts/bootstrap.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh

WORK="$(mktemp -d)"
cleanup() {
    python -m clusteredge_testworld.lab down --state-dir "$WORK/lab" --prefix demo >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

python -m clusteredge_testworld.lab up --state-dir "$WORK/lab" --prefix demo --subnet 10.200.30.0/24 >/dev/null
echo "demo: API emulator at $(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/lab/emulator.json");" \
     "nodes node-1..3 in network namespaces at 10.200.30.11-13"
# shellcheck source=/dev/null
. "$WORK/lab/env.sh"
export TMPDIR="$WORK"

for run in first second; do
    echo
    echo "demo: $run run of: ansible-playbook -i <nodes> clusteredge.calico.expose -e @docs/examples/services.yml"
    ansible-playbook -i "$WORK/lab/inventory.ini" clusteredge.calico.expose -e @docs/examples/services.yml >"$WORK/$run.out" 2>&1 || {
        cat "$WORK/$run.out" >&2
        exit 1
    }
    sed -n '/^TASK \[clusteredge.calico.clusterip_exposure : Summary\]/,/^PLAY RECAP/p' "$WORK/$run.out" | sed '/^PLAY RECAP/d'
    grep -E '^node-[0-9]' "$WORK/$run.out"
done
if grep -E '^node-[0-9]' "$WORK/second.out" | grep -vq 'changed=0'; then
    echo "demo: the second run changed something: not idempotent" >&2
    exit 1
fi
echo
echo "demo: done; the second run changed nothing. Emulator and nodes are removed on exit."
