"""The README's supported-versions table is what the test matrix runs (tests/integration/test_calico_profiles.py)."""

from __future__ import annotations

import re
from pathlib import Path

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.profile import CalicoProfile
from clusteredge_testworld.emulator.profiles import PROFILES, parse_profile

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_supported_versions_table_is_what_the_tests_run():
    """Every row of the README's table is a profile the matrix runs, with the Kubernetes version that profile's emulator
    serves and the support status the collection reports; every profile has a row."""
    section = (REPO / "README.md").read_text().split("## Supported versions", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| 3.")]
    seen = []
    for release, served_by, support, kubernetes in rows:
        match = re.match(r"^1\.(\d+) \(`(?P<profile>[^`]+)`\)$", kubernetes)
        assert match, kubernetes
        profile = parse_profile(match.group("profile"))
        seen.append(profile.key)
        assert release == "%d.%d" % profile.minor
        assert ("native v3 CRDs" in served_by) == profile.crd_mode
        assert match.group(1) == profile.kube_version["minor"]
        reported = CalicoProfile.for_version(profile.calico_version, "crd" if profile.crd_mode else "apiserver").support
        assert support == {"supported": "supported", "out of support": "ended"}[reported], (release, support, reported)
    assert sorted(seen) == sorted(PROFILES)
