# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._node_map import node_hostendpoints


class FilterModule(object):
    """Map inventory hosts to Kubernetes nodes and their HostEndpoints (see node_hostendpoints.yml)."""

    def filters(self):
        return {"node_hostendpoints": node_hostendpoints}
