# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Calico profile: the one place that knows how Calico releases and serving modes differ.

Private to this collection: no stability promise. Pure: built from what a module reads anyway (the
`projectcalico.org/v3` resource list of API discovery and ClusterInformation `default`), it answers every
version- or mode-dependent question the rest of the collection asks: which fields and labels the server fills in,
which policy names are portable, whether tiers and staged policies exist, how a tiered-RBAC denial looks, the
failsafe defaults, and how to name the installation in messages. No other file names a Calico version.

Sources are Calico's code at each release tag and its documentation:
https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy,
https://docs.tigera.io/calico/latest/operations/native-v3-crds and the release notes of each version.
"""

from __future__ import annotations

import re

# Release lines this collection knows; what Calico's SECURITY.md supports is "the most recent two minor versions".
OLDEST_KNOWN = (3, 28)
NEWEST_KNOWN = (3, 32)
SUPPORTED_UPSTREAM = ((3, 31), (3, 32))

MODE_API_SERVER = "apiserver"
MODE_CRDS = "crd"

TIER_LABEL = "projectcalico.org/tier"
DEFAULT_TIER = "default"
POLICY_KINDS = ("GlobalNetworkPolicy", "NetworkPolicy", "StagedGlobalNetworkPolicy", "StagedNetworkPolicy")

# Felix's failsafe defaults: the same at every release from 3.28 to 3.32 (felix/config/config_params.go).
DEFAULT_FAILSAFE_INBOUND = ("tcp:22", "udp:68", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667")
DEFAULT_FAILSAFE_OUTBOUND = ("udp:53", "udp:67", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667")

# Built-in tiers per release line (clientv3 creates them at start-up); None: no Tier resource (one implicit tier).
_BUILTIN_TIERS = {
    (3, 28): (),
    (3, 29): ("default", "adminnetworkpolicy"),
    (3, 30): ("default", "adminnetworkpolicy", "baselineadminnetworkpolicy"),
    (3, 31): ("default", "adminnetworkpolicy", "baselineadminnetworkpolicy"),
    (3, 32): ("default", "kube-admin", "kube-baseline"),
}

NOT_SERVED_HINT = (
    "This collection manages Calico through projectcalico.org/v3, which either the Calico API server serves "
    "(APIService v3.projectcalico.org; the tigera operator installs it with an APIServer resource named 'default', "
    "manifest installs must add it) or, from Calico 3.32, Calico's native v3 CRDs (see "
    "https://docs.tigera.io/calico/latest/operations/native-v3-crds).")
MISSING_KINDS_HINT = "this collection needs Calico 3.28 or newer."

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def parse_version(text):
    """(major, minor, patch) from 'v3.32.1' / '3.29' / 'v3.30.0-0.dev'; None when it is not a version."""
    match = _VERSION_RE.match(str(text or "").strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def version_text(version):
    return "v%d.%d.%d" % version if version else "unknown"


class CalicoProfile(object):
    """What one cluster's Calico is: its version (when known), how `projectcalico.org/v3` is served, and what follows.

    `served` are the resource names of `GET /apis/projectcalico.org/v3`; features are gated on them, not on the
    version string (a development build reports no usable version). The version settles what discovery cannot:
    how policy names read back, support status, the built-in tiers.
    """

    def __init__(self, served, calico_version=None):
        self.served = frozenset(served or ())
        self.reported_version = calico_version or None
        self.version = parse_version(calico_version)
        # The aggregated API server serves `profiles`; the native v3 CRDs of 3.32 do not, and add IPAM kinds.
        crd_fingerprint = "profiles" not in self.served and bool({"ipamblocks", "ipamhandles"} & self.served)
        self.mode = MODE_CRDS if crd_fingerprint else MODE_API_SERVER
        self.has_tiers = "tiers" in self.served
        self.has_staged = "stagedglobalnetworkpolicies" in self.served

    @classmethod
    def for_version(cls, version, mode=MODE_API_SERVER):
        """The profile a cluster of this version and mode would present (for rendering and tests)."""
        parsed = parse_version(version)
        minor = parsed[:2] if parsed else NEWEST_KNOWN
        served = {"hostendpoints", "globalnetworkpolicies", "networkpolicies", "globalnetworksets", "ippools"}
        if minor >= (3, 29):
            served.add("tiers")
        if minor >= (3, 30):
            served.update(("stagedglobalnetworkpolicies", "stagednetworkpolicies"))
        served.update(("ipamblocks", "ipamhandles") if mode == MODE_CRDS else ("profiles",))
        return cls(served, version_text(parsed) if parsed else None)

    # -- what it is --------------------------------------------------------------------------

    @property
    def minor(self):
        return self.version[:2] if self.version else None

    @property
    def serving(self):
        """How projectcalico.org/v3 is served, in words for messages."""
        if self.mode == MODE_CRDS:
            return "Calico's native projectcalico.org/v3 CRDs (no Calico API server)"
        return "the Calico API server"

    @property
    def support(self):
        """'supported', 'out of support', 'too old', 'newer than this collection knows' or 'unknown'."""
        if self.minor is None:
            return "unknown"
        if self.minor < OLDEST_KNOWN or self.version[0] != OLDEST_KNOWN[0]:
            return "too old" if self.minor < OLDEST_KNOWN else "newer than this collection knows"
        if self.minor > NEWEST_KNOWN:
            return "newer than this collection knows"
        return "supported" if self.minor in SUPPORTED_UPSTREAM else "out of support"

    def version_problem(self):
        """Why this collection must not run against this Calico unless told to, or None."""
        if self.support == "too old":
            return ("Calico %s is older than %d.%d, the oldest release this collection works with"
                    % (version_text(self.version), OLDEST_KNOWN[0], OLDEST_KNOWN[1]))
        if self.support == "newer than this collection knows":
            return ("Calico %s is newer than %d.%d, the newest release this collection was built for; its API may "
                    "differ" % (version_text(self.version), NEWEST_KNOWN[0], NEWEST_KNOWN[1]))
        return None

    def describe(self):
        """What preflight and summaries report."""
        return dict(
            version=self.reported_version,
            mode=self.mode,
            serving=self.serving,
            support=self.support,
            tiers=self.has_tiers,
            staged_policies=self.has_staged,
            builtin_tiers=list(self.builtin_tiers),
            selector_scoped_felix_configuration=self.selector_scoped_felix_config,
            auto_hostendpoint_templates=self.auto_hostendpoint_templates,
            per_interface_auto_hostendpoints=self.per_interface_auto_hostendpoints,
        )

    # -- tiers and policies ------------------------------------------------------------------

    @property
    def builtin_tiers(self):
        if not self.has_tiers:
            return ()
        return _BUILTIN_TIERS.get(self.minor, (DEFAULT_TIER,))

    def is_policy_kind(self, kind):
        return kind in POLICY_KINDS

    def complete(self, obj, kind=None):
        """A policy as this server stores and returns it: with tiers, `spec.tier` and its label are always there.

        Sending both explicitly makes create, read-back and comparison agree on every release (3.29+ fill them in
        on every read; 3.28 has no such field and must never receive it).
        """
        if not self.has_tiers or not self.is_policy_kind(kind or obj.get("kind")):
            return obj
        body = dict(obj)
        spec = dict(body.get("spec") or {})
        spec["tier"] = spec.get("tier") or DEFAULT_TIER
        meta = dict(body.get("metadata") or {})
        labels = dict(meta.get("labels") or {})
        labels[TIER_LABEL] = spec["tier"]
        meta["labels"] = labels
        body["metadata"] = meta
        body["spec"] = spec
        return body

    def read_name(self, kind, name):
        """The name a policy was created with, from the name it reads back with.

        Calico 3.29.0-3.29.3 returns every default-tier policy as `default.<name>`, and 3.30.0 does so for policies
        created before 3.30 (fixed in 3.29.4 and 3.30.1): on those releases `<name>` and `default.<name>` are one
        object, so the bare name is the identity. Elsewhere the name is returned as created.
        """
        if self.legacy_default_prefix_on_read and self.is_policy_kind(kind) and name.startswith(DEFAULT_TIER + "."):
            return name[len(DEFAULT_TIER) + 1:]
        return name

    def normalise_read(self, obj, kind=None):
        """A live object keyed by the name it was created with (see read_name)."""
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        if not name:
            return obj
        canonical = self.read_name(kind or obj.get("kind"), name)
        if canonical == name:
            return obj
        body = dict(obj)
        body["metadata"] = dict(meta, name=canonical)
        return body

    @property
    def legacy_default_prefix_on_read(self):
        version = self.version
        if version is None:
            return False
        return (3, 29, 0) <= version <= (3, 29, 3) or version[:3] == (3, 30, 0)

    @staticmethod
    def portable_policy_name_problem(name):
        """Why `name` is not a default-tier policy name that means the same object on every release, or None.

        3.28 accepts only a DNS-1123 label; 3.29-3.31 tie a dotted name to the tier of its prefix; 3.32 accepts any
        dotted name as a plain name. A bare label of at most 63 characters is the one form all of them agree on.
        """
        if len(name) > 63:
            return "%r is longer than 63 characters" % name
        if not _DNS_LABEL_RE.match(name):
            return ("%r is not a DNS-1123 label (lower-case letters, digits and '-', no dots): Calico releases read "
                    "dotted policy names as tier-prefixed differently" % name)
        return None

    # -- errors ------------------------------------------------------------------------------

    @staticmethod
    def is_forbidden(status, reason):
        """An authorization failure: 403, or the 400 with reason Forbidden of 3.32's tiered-RBAC webhook."""
        return status == 403 or reason == "Forbidden"

    @staticmethod
    def tier_of_denial(message):
        """The tier a tiered-RBAC denial names, or None for a plain RBAC denial."""
        match = re.search(r'in tier "([^"]+)"', message or "")
        return match.group(1) if match else None

    # -- nodes -------------------------------------------------------------------------------

    @property
    def failsafe_defaults(self):
        return dict(inbound=DEFAULT_FAILSAFE_INBOUND, outbound=DEFAULT_FAILSAFE_OUTBOUND)

    @property
    def selector_scoped_felix_config(self):
        """3.32 lets a FelixConfiguration other than default/node.<name> select nodes with spec.nodeSelector."""
        return self.minor is None or self.minor >= (3, 32)

    @property
    def auto_hostendpoint_templates(self):
        """kube-controllers creates HostEndpoints from KubeControllersConfiguration templates (3.30+)."""
        return self.minor is None or self.minor >= (3, 30)

    @property
    def per_interface_auto_hostendpoints(self):
        """Templates with interfacePattern: one automatic HostEndpoint per matching interface (3.31+)."""
        return self.minor is None or self.minor >= (3, 31)
