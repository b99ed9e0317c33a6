# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


def _ports(ports):
    return ", ".join("%s/%s->%s" % (p.get("port"), p.get("protocol"), p.get("target_port")) for p in ports or [])


def summary_lines(exposures, hostendpoints=None, changes=None, calico=None):
    """Lines a person reads at a glance: Services, node HostEndpoints, objects written, and the Calico it ran against."""
    lines = ["Services (cluster IPs <- allowed sources : ports service->target):"]
    for exposure in exposures or []:
        lines.append("  %s/%s [%s] %s <- %s : %s" % (
            exposure.get("namespace"), exposure.get("name"), exposure.get("mode"), ", ".join(exposure.get("cluster_ips") or []),
            ", ".join(exposure.get("sources") or []), _ports(exposure.get("ports"))))
    lines.append("Node HostEndpoints (node interface: expected IPs):")
    for hep in hostendpoints or []:
        lines.append("  %s %s: %s" % (hep.get("node"), hep.get("interface_name"), ", ".join(hep.get("expected_ips") or [])))
    merged = {"created": [], "updated": [], "deleted": []}
    for change in changes or []:
        kind = (change or {}).get("kind")
        for key in merged:
            names = [n if "/" in n or not kind else "%s/%s" % (kind, n) for n in (change or {}).get(key) or []]
            merged[key].extend(n for n in names if n not in merged[key])
    lines.append("Objects created: %d, updated: %d, deleted: %d" % tuple(len(merged[k]) for k in ("created", "updated", "deleted")))
    for key in ("created", "updated", "deleted"):
        lines.extend("  %s %s" % (key, name) for name in merged[key])
    if calico:
        lines.append("Calico %s (%s), projectcalico.org/v3 served by %s; %s" % (
            calico.get("version") or "(version unknown)", calico.get("support") or "unknown", calico.get("serving"),
            "policies in tier default" if calico.get("tiers") else "no tiers"))
    return lines


class FilterModule(object):
    """Summary of a clusterip_exposure run (see summary_lines.yml)."""

    def filters(self):
        return {"summary_lines": summary_lines}
