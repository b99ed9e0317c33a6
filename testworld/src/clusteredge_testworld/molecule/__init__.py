"""A molecule scenario for a platform repository that runs clusteredge.calico against this test world.

``python -m clusteredge_testworld.molecule init molecule/calico`` writes the scenario: ``create`` starts the API
emulator with a realistic cluster and three network-namespace nodes running sshd, ``converge`` is the repository's
own playbook (by default one that imports ``clusteredge.calico.expose``), ``idempotence`` requires no change,
``verify`` checks flows with ``clusteredge.calico.calico_flow_check``, ``destroy`` leaves nothing behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "template"


def init(directory, force=False):
    """Copy the scenario template into `directory`; returns the files written. Existing files stay unless `force`."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(TEMPLATE.iterdir()):
        if not source.is_file():
            continue
        destination = target / source.name
        if destination.exists() and not force:
            continue
        shutil.copyfile(source, destination)
        written.append(destination)
    return written
