# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Who owns an object: the owner label this collection writes, and the objects it must never take.

Private to this collection: no stability promise. Pure: no I/O.
"""

from __future__ import annotations

OWNER_LABEL = "clusteredge.calico/owner"
DEFAULT_OWNER = "clusteredge.calico"
# calico-kube-controllers owns (and rewrites or deletes) objects carrying this label.
AUTO_CREATED_LABEL = "projectcalico.org/created-by"
AUTO_CREATED_VALUE = "calico-kube-controllers"
RESERVED_LABELS = (OWNER_LABEL, AUTO_CREATED_LABEL)


def object_key(obj):
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return "%s/%s" % (namespace, meta["name"]) if namespace else meta["name"]


def labels_of(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def is_auto_created(obj):
    return labels_of(obj).get(AUTO_CREATED_LABEL) == AUTO_CREATED_VALUE


def is_owned(obj, owner):
    return labels_of(obj).get(OWNER_LABEL) == owner


def foreign_reason(obj, owner, adopt=False):
    """Why an existing object must not be written by this owner, or None if it may be.

    `adopt` lets an owner take over objects that carry no owner label at all; it never takes
    objects from another owner or from calico-kube-controllers.
    """
    if is_auto_created(obj):
        return ("it is an automatic object managed by calico-kube-controllers (label %s=%s), "
                "which rewrites or deletes it" % (AUTO_CREATED_LABEL, AUTO_CREATED_VALUE))
    current = labels_of(obj).get(OWNER_LABEL)
    if current is None:
        if adopt:
            return None
        return "it exists and was not created by this collection (no %s label); set adopt=true to take it over" % OWNER_LABEL
    if current != owner:
        return "it belongs to owner %r, not %r" % (current, owner)
    return None
