# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_hostendpoint: the shared resource runner over the HostEndpoint model.

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.hostendpoint import HostEndpointAdapter
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.resource import run_resource


def run(module, connect):
    return run_resource(module, connect, HostEndpointAdapter)
