"""The code snippets of the READMEs and docs/*.md, each with the marker that says how a test runs it.

Every fenced block with a language (```bash, ```yaml, ```ini, ...) must be preceded by a marker line

    <!-- snippet: KIND [ARGUMENT] -->

KIND says which test runs it (tests/unit/test_doc_snippets.py enforces that every block has one):

- ``shell NAME``: run literally with bash, in order, by tests/integration/test_readme_as_a_user.py, in a user's
  sandbox (HOME with kubeconfigs, the built tarball, the ``inventory``/``vars`` files of the same document);
- ``inventory NAME`` / ``vars NAME``: written as file NAME into that sandbox before the shell snippets run;
- ``playbook``: run with ansible-playbook in that sandbox;
- ``rendered``: an object (or part of one) the collection writes: it must be found in what it renders
  for the same input (tests/unit/test_doc_snippets.py);
- ``checked-by PATH``: run by the test file PATH (for a task, against the cluster state it describes), which
  names this document.

Blocks without a language are sample output, not snippets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
KINDS = ("shell", "inventory", "vars", "playbook", "rendered", "checked-by")
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
_MARKER = re.compile(r"<!--\s*snippet:\s*(?P<kind>[\w-]+)(?:\s+(?P<argument>\S+))?\s*-->\s*$")


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    lang: str
    body: str
    kind: str | None
    argument: str | None

    @property
    def where(self) -> str:
        return "%s:%d" % (self.path.relative_to(REPO), self.line)

    def data(self):
        """The YAML of the block, dedented (a fragment such as `  ingress: ...` parses as a mapping)."""
        lines = self.body.splitlines()
        indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
        return yaml.safe_load("\n".join(line[indent:] for line in lines))


def documents() -> list[Path]:
    """What users read: the READMEs (collection, roles, the test world package) and the guides in docs/."""
    return ([REPO / "README.md"] + sorted(REPO.glob("roles/*/README.md")) + [REPO / "testworld" / "README.md"]
            + sorted((REPO / "docs").rglob("*.md")))


def snippets(path: Path) -> list[Snippet]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        if not match.group("lang"):
            continue
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        found.append(Snippet(path=path, line=text.count("\n", 0, match.start()) + 1, lang=match.group("lang"),
                             body=match.group("body"), kind=marker.group("kind") if marker else None,
                             argument=marker.group("argument") if marker else None))
    return found


def all_snippets() -> list[Snippet]:
    return [snippet for path in documents() for snippet in snippets(path)]


def of_kind(kind: str, path: Path | None = None, argument: str | None = None) -> list[Snippet]:
    pool = snippets(path) if path else all_snippets()
    return [s for s in pool if s.kind == kind and (argument is None or s.argument == argument)]
