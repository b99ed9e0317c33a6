# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Options of the shared resource-module state algebra (state, owner, adopt).
    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(merged) creates the listed objects or merges the given fields into them; nothing is removed.
        Maps merge, lists gain the new entries.
      - V(replaced) makes each listed object exactly equal to its item. Objects not listed are untouched.
      - V(overridden) makes the set of objects this O(owner) manages exactly equal to O(config) and deletes the
        owner's objects that are not listed. Objects of other owners and automatic objects of
        calico-kube-controllers are never touched.
      - V(deleted) deletes the listed objects, or every object of this O(owner) when O(config) is empty.
      - V(gathered) reads the live objects (all of them, or the listed names) and returns them in O(config)
        shape under RV(gathered). Nothing is written.
      - V(rendered) returns the manifests that would be sent under RV(rendered), with no connection to any
        cluster. Validation still runs.
      - Every input is validated before the first request that writes; an invalid input fails the task
        and nothing is changed.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered]
    default: merged
  owner:
    description:
      - Value of the ownership label C(clusteredge.calico/owner) that the module puts on every object it
        creates. V(overridden) and V(deleted) only ever remove objects carrying this exact value.
      - Give different teams or playbooks different owners to manage disjoint sets of objects.
      - Must be a valid Kubernetes label value.
    type: str
    default: clusteredge.calico
  adopt:
    description:
      - Allow V(merged), V(replaced) and V(overridden) to take over an existing object that carries no
        ownership label (for example one created by hand with calicoctl). The ownership label is added.
      - Without it, naming such an object fails before anything is written.
      - Objects of another O(owner) and automatic objects of calico-kube-controllers (label
        C(projectcalico.org/created-by=calico-kube-controllers)) are never adopted.
    type: bool
    default: false
"""
