"""The Calico profile: what each release and serving mode changes for a client, decided from discovery and the version.

Sections cited are those of ../shared/calico/SPEC-3.29-3.32.md (the reference read for this work).
"""

from __future__ import annotations

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.profile import CalicoProfile, parse_version

BASE = {"hostendpoints", "globalnetworkpolicies", "networkpolicies", "globalnetworksets", "ippools", "felixconfigurations"}
API_328 = BASE | {"profiles"}
API_329 = API_328 | {"tiers"}
API_330 = API_329 | {"stagedglobalnetworkpolicies", "stagednetworkpolicies", "stagedkubernetesnetworkpolicies"}
CRD_332 = (API_330 - {"profiles"}) | {"ipamblocks", "ipamhandles"}


def policy(name="clusteredge-deny", **spec):
    return {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": name, "labels": {"clusteredge.calico/owner": "x"}}, "spec": dict(order=10, **spec)}


@pytest.mark.parametrize("served, version, mode, tiers, staged", [
    (API_328, "v3.28.5", "apiserver", False, False),
    (API_329, "v3.29.7", "apiserver", True, False),
    (API_330, "v3.31.7", "apiserver", True, True),
    (API_330, "v3.32.1", "apiserver", True, True),
    (CRD_332, "v3.32.1", "crd", True, True),
])
def test_features_come_from_discovery(served, version, mode, tiers, staged):
    """§2.1, §2.2 rule 3, §14.1-2: profiles served means the aggregated server; ipamblocks without it, native CRDs."""
    profile = CalicoProfile(served, version)
    assert (profile.mode, profile.has_tiers, profile.has_staged) == (mode, tiers, staged)
    assert ("native" in profile.serving) == (mode == "crd")


@pytest.mark.parametrize("version, support", [
    ("v3.28.5", "out of support"), ("v3.29.0", "out of support"), ("v3.30.7", "out of support"),
    ("v3.31.7", "supported"), ("v3.32.1", "supported"), ("v3.27.3", "too old"), ("v3.33.0", "newer than this collection knows"),
    ("v4.0.0", "newer than this collection knows"), ("master", "unknown"), (None, "unknown"),
])
def test_support_status(version, support):
    """§1: Tigera supports the two most recent minor versions, 3.31 and 3.32."""
    profile = CalicoProfile(API_330, version)
    assert profile.support == support
    assert (profile.version_problem() is not None) == (support in ("too old", "newer than this collection knows"))


def test_a_3_28_policy_is_left_as_it_is():
    """§14.3: never send spec.tier where tiers are not served (3.28 rejects or drops it)."""
    obj = policy()
    assert CalicoProfile(API_328, "v3.28.5").complete(obj) is obj


def test_with_tiers_a_policy_carries_its_tier_and_label_as_the_server_returns_them():
    """§3.1: every read returns spec.tier (default) and the label projectcalico.org/tier; sent explicitly, they agree."""
    profile = CalicoProfile(API_329, "v3.29.7")
    completed = profile.complete(policy())
    assert completed["spec"]["tier"] == "default"
    assert completed["metadata"]["labels"] == {"clusteredge.calico/owner": "x", "projectcalico.org/tier": "default"}
    assert policy()["spec"].get("tier") is None, "the input is not changed in place"
    as_read = policy(tier="default")
    as_read["metadata"]["labels"]["projectcalico.org/tier"] = "default"
    assert profile.complete(policy()) == profile.complete(as_read)


def test_kind_may_come_from_the_caller_because_list_items_can_lack_it():
    profile = CalicoProfile(API_329, "v3.29.7")
    item = policy()
    del item["kind"]
    assert profile.complete(item, "NetworkPolicy")["spec"]["tier"] == "default"
    assert "tier" not in profile.complete(dict(policy(), kind="GlobalNetworkSet"))["spec"]


@pytest.mark.parametrize("version, stripped", [
    ("v3.28.5", False), ("v3.29.0", True), ("v3.29.3", True), ("v3.29.4", False), ("v3.30.0", True), ("v3.30.1", False),
    ("v3.31.7", False), ("v3.32.1", False), (None, False),
])
def test_legacy_default_prefix_is_read_as_the_created_name(version, stripped):
    """§3.2, §11: 3.29.0-3.29.3 (and 3.30.0 for older objects) return default.<name>; the bare name is the identity."""
    profile = CalicoProfile(API_330, version)
    obj = policy("default.clusteredge-deny")
    read = profile.normalise_read(obj, "GlobalNetworkPolicy")
    assert read["metadata"]["name"] == ("clusteredge-deny" if stripped else "default.clusteredge-deny")
    assert profile.normalise_read(dict(obj, kind="HostEndpoint"))["metadata"]["name"] == "default.clusteredge-deny"


@pytest.mark.parametrize("name, portable", [
    ("clusteredge-deny-service-ranges", True), ("default.foo", False), ("security.foo", False), ("Foo", False),
    ("a" * 63, True), ("a" * 64, False),
])
def test_portable_policy_names(name, portable):
    """§3.2 'Portable naming': a bare DNS-1123 label is the one default-tier name every release agrees on."""
    assert (CalicoProfile.portable_policy_name_problem(name) is None) == portable


@pytest.mark.parametrize("status, reason, forbidden", [
    (403, "Forbidden", True), (400, "Forbidden", True), (400, "BadRequest", False), (404, "NotFound", False),
])
def test_forbidden_is_classified_by_reason(status, reason, forbidden):
    """§5.2, §14.19: the v3-CRD tiered-RBAC webhook denies with HTTP 400 and reason Forbidden."""
    assert CalicoProfile.is_forbidden(status, reason) is forbidden


def test_tier_of_a_denial():
    """§5.1 message shape."""
    message = ('globalnetworkpolicies.projectcalico.org "x" is forbidden: User "u" cannot create '
               'globalnetworkpolicies.projectcalico.org in tier "default" (user cannot get tier)')
    assert CalicoProfile.tier_of_denial(message) == "default"
    assert CalicoProfile.tier_of_denial('nodes is forbidden: User "u" cannot list resource "nodes"') is None


@pytest.mark.parametrize("version, tiers", [
    ("v3.28.5", []), ("v3.29.7", ["default", "adminnetworkpolicy"]),
    ("v3.31.7", ["default", "adminnetworkpolicy", "baselineadminnetworkpolicy"]),
    ("v3.32.1", ["default", "kube-admin", "kube-baseline"]),
])
def test_builtin_tiers(version, tiers):
    """§4.1."""
    assert list(CalicoProfile.for_version(version).builtin_tiers) == tiers


def test_failsafe_defaults_are_unchanged_across_releases():
    """§9.7: identical at every tag checked."""
    assert CalicoProfile.for_version("v3.28.5").failsafe_defaults == CalicoProfile.for_version("v3.32.1", "crd").failsafe_defaults


def test_parse_version():
    assert parse_version("v3.32.1") == (3, 32, 1)
    assert parse_version("3.29") == (3, 29, 0)
    assert parse_version("v3.30.0-0.dev-123") == (3, 30, 0)
    assert parse_version("master") is None
