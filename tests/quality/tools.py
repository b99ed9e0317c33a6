"""Helpers shared by the quality gates (ansible-test sanity, ansible-lint, changelog, galaxy build)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# Built by scripts/bootstrap.sh: a symlink ../../../.. back to REPO_ROOT (kept unresolved on purpose).
COLLECTION_LINK = REPO_ROOT / '.build' / 'collections' / 'ansible_collections' / 'clusteredge' / 'calico'


@dataclass
class Result:
    """Outcome of one tool run."""

    args: list[str]
    returncode: int
    output: str

    def report(self, tail: int = 200) -> str:
        lines = self.output.rstrip().splitlines()
        shown = lines[-tail:]
        cut = f'... ({len(lines) - tail} earlier lines cut)\n' if len(lines) > tail else ''
        return f'$ {" ".join(self.args)}\nexit {self.returncode}\n{cut}' + '\n'.join(shown)


def tool(name: str) -> str:
    """Absolute path of a console script of the running venv (falls back to PATH)."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name


def tool_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env['PATH'] = os.pathsep.join([str(VENV_BIN), env.get('PATH', '')])
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', str(REPO_ROOT / '.build' / 'collections'))
    env.setdefault('ANSIBLE_PYTHON_INTERPRETER', sys.executable)
    env['NO_COLOR'] = '1'
    env['PY_COLORS'] = '0'
    env.pop('FORCE_COLOR', None)
    env.update(extra)
    return env


def run_tool(args: list[str], cwd: Path | str, timeout: int = 1200, **env: str) -> Result:
    proc = subprocess.run(
        args, cwd=str(cwd), env=tool_env(**env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False,
    )
    return Result(args=[str(a) for a in args], returncode=proc.returncode, output=proc.stdout)


def collection_copy(dest: Path) -> Path:
    """Copy the collection's files (tracked, plus new ones git does not ignore) to dest/ansible_collections/clusteredge/calico.

    ansible-test commands that delegate (`--venv`) restart themselves in os.getcwd(), which resolves
    COLLECTION_LINK to the repository path (outside any ansible_collections/ tree); a real copy has the layout
    ansible-test needs, as a CI checkout into ansible_collections/clusteredge/calico has.
    """
    listed = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, check=True).stdout.decode()
    root = dest / 'ansible_collections' / 'clusteredge' / 'calico'
    for relative in filter(None, listed.split('\0')):
        source = REPO_ROOT / relative
        if source.is_file():  # a deleted but still tracked file is listed too
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return root


def build_collection(out_dir: Path) -> Path:
    """`ansible-galaxy collection build` of this checkout into out_dir, as a release does; returns the tarball."""
    result = run_tool([tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(out_dir), str(REPO_ROOT)],
                      cwd=out_dir, timeout=300)
    assert result.returncode == 0, result.report()
    built = sorted(Path(out_dir).glob('clusteredge-calico-*.tar.gz'))
    assert len(built) == 1, result.report()
    return built[0]
