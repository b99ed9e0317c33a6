"""No user-facing text cites the internal reference notes ("SPEC §5.4", "SPEC-3.29-3.32 §2").

Those notes live outside the repository (../shared/calico/SPEC*.md), so a user cannot follow such a citation: what
users read cites Calico's documentation (https://docs.tigera.io/calico/...) or Calico's source instead. Code comments,
docstrings of module_utils and tests are for developers and may keep SPEC citations.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CITATION = re.compile(r"SPEC\S*\s*§|SPEC-3\.29")


def _hits(path: Path, text: str, first_line: int = 1) -> list[str]:
    name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    return ["%s:%d: %s" % (name, first_line + number, line.strip())
            for number, line in enumerate(text.splitlines()) if CITATION.search(line)]


def _text_files(*patterns: str) -> list[Path]:
    return sorted(set(p for pattern in patterns for p in REPO.glob(pattern) if p.is_file()))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                nodes.add(id(first.value))
    return nodes


def _string_hits(path: Path, include_docstrings: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skipped = set() if include_docstrings else _docstring_nodes(tree)
    return [hit for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
            for hit in _hits(path, node.value, node.lineno)]


def test_documents_cite_public_sources():
    """docs/, README.md, filter docs, changelog fragments and the roles (defaults, argument specs, READMEs, tasks)."""
    files = _text_files("README.md", "docs/**/*.md", "plugins/filter/*.yml", "plugins/filter/*.yaml",
                        "changelogs/fragments/*.yml", "changelogs/fragments/*.yaml", "roles/**/*.yml",
                        "roles/**/*.yaml", "roles/**/*.md")
    assert files
    hits = [hit for path in files for hit in _hits(path, path.read_text(encoding="utf-8"))]
    assert hits == [], "SPEC citations in user-facing documents:\n" + "\n".join(hits)


def test_modules_cite_public_sources():
    """Every string of a module: DOCUMENTATION, EXAMPLES, RETURN, messages (and its docstrings)."""
    files = _text_files("plugins/modules/*.py")
    assert files
    hits = [hit for path in files for hit in _string_hits(path, include_docstrings=True)]
    assert hits == [], "SPEC citations in modules:\n" + "\n".join(hits)


def test_module_utils_strings_cite_public_sources():
    """Strings that can reach users (messages, stage and verdict texts); docstrings and comments are exempt."""
    files = _text_files("plugins/module_utils/**/*.py", "plugins/filter/*.py")
    assert files
    hits = [hit for path in files for hit in _string_hits(path, include_docstrings=False)]
    assert hits == [], "SPEC citations in strings of module_utils and filters:\n" + "\n".join(hits)


def test_the_check_finds_citations(tmp_path):
    """The pattern finds both spellings, and only docstrings are exempt."""
    sample = tmp_path / "sample.py"
    sample.write_text('"""SPEC §1 in a docstring."""\n\n\ndef f():\n    """SPEC.md §2 too."""\n'
                      '    return "denied (SPEC-3.29-3.32 §2)", "see SPEC §5.4", "SPEC.md"\n', encoding="utf-8")
    assert [hit.split(": ", 1)[1] for hit in _string_hits(sample, include_docstrings=False)] == [
        "denied (SPEC-3.29-3.32 §2)", "see SPEC §5.4"]
    assert len(_string_hits(sample, include_docstrings=True)) == 4
