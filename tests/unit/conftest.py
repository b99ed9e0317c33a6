"""Make `ansible_collections.clusteredge.calico` importable for the pure unit tests."""

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collections_root():
    # Inside an installed tree (…/ansible_collections/clusteredge/calico) use that tree.
    parent = os.path.dirname(os.path.dirname(REPO))
    if os.path.basename(parent) == "ansible_collections":
        return os.path.dirname(parent)
    built = os.path.join(REPO, ".build", "collections")
    if os.path.isdir(os.path.join(built, "ansible_collections", "clusteredge")):
        return built
    root = tempfile.mkdtemp(prefix="collections-")
    os.makedirs(os.path.join(root, "ansible_collections", "clusteredge"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "clusteredge", "calico"))
    return root


if not any(p.endswith(os.sep + "collections") and os.path.isdir(os.path.join(p, "ansible_collections", "clusteredge"))
           for p in sys.path):
    sys.path.insert(0, _collections_root())
