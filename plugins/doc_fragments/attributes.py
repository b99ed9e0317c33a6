# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Attributes every resource module of this collection shares.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying the cluster.
    details:
      - Every write is sent with C(dryRun=All), so the API server's own validation and admission run and nothing is
        persisted. When a server refuses dry runs, the module predicts the result locally and warns.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    support: full
    description: Running it again with the same input reports no change and sends no write.
  action_group:
    support: full
    membership:
      - clusteredge.calico.calico
    description: Use C(group/clusteredge.calico.calico) in C(module_defaults) to set the connection options once.
"""

    # For modules that only read.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only; check mode changes nothing.
  diff_mode:
    support: N/A
    description: Reads only; there is nothing to diff.
  idempotent:
    support: full
    description: Reads only.
  action_group:
    support: full
    membership:
      - clusteredge.calico.calico
    description: Use C(group/clusteredge.calico.calico) in C(module_defaults) to set the connection options once.
"""
