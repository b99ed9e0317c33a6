# shellcheck shell=bash
# Source me (bash/zsh) after scripts/bootstrap.sh:   . scripts/env.sh
# Puts .venv first on PATH, points Ansible at the assembled collection root and pins the interpreter.
_ce_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd -P)"
export VIRTUAL_ENV="$_ce_root/.venv"
case ":$PATH:" in
    *":$VIRTUAL_ENV/bin:"*) ;;
    *) export PATH="$VIRTUAL_ENV/bin:$PATH" ;;
esac
# clusteredge.calico (symlink to this repo) and kubernetes.core 6.2.0 live here.
export ANSIBLE_COLLECTIONS_PATH="$_ce_root/.build/collections"
# Interpreter discovery would otherwise pick a broken pyenv shim for local connections.
export ANSIBLE_PYTHON_INTERPRETER="$VIRTUAL_ENV/bin/python"
# The test world (emulator, nodes, lab) is the clusteredge_testworld package, installed editable in .venv.
unset _ce_root
