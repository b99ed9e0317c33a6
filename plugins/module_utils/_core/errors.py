# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error type of the collection: raised anywhere, turned into `fail_json` once (runners.common.run_module).

Private to this collection: no stability promise. Pure: no I/O. Each failure carries the `msg` users read and
the result fields that go with it (`errors`, `api_status`, `changed` and `changes` after a partial write).
"""

from __future__ import annotations


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


class CalicoModuleError(Exception):
    """A failure as the module reports it: `msg` plus the result fields in `result`."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


class InvalidInput(CalicoModuleError):
    """Parameters that are wrong on their own, found before the first request; nothing was changed."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("%s, nothing was changed: %s" % (_plural(len(self.errors), "invalid input"), "; ".join(self.errors)),
                         errors=self.errors)


class Unapplicable(CalicoModuleError):
    """Inputs valid on their own that cannot be applied to the cluster as it is; nothing was written."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("%s cannot be applied, nothing was changed: %s" % (_plural(len(self.errors), "input"), "; ".join(self.errors)),
                         errors=self.errors)


class ApiError(CalicoModuleError):
    """An API request failed for good; `status` is the HTTP status (0 when no response arrived)."""

    def __init__(self, message, status=0, reason=None):
        super().__init__(message, api_status=status)
        self.status = status
        self.reason = reason


class Conflict(ApiError):
    """409: the object changed since it was read, or already exists."""


class ApplyFailed(CalicoModuleError):
    """A write failed for good; `done` lists what was applied before it, by action."""

    def __init__(self, message, done, status=0):
        applied = sum(len(keys) for keys in done.values())
        super().__init__(message, changed=applied > 0, changes=done, api_status=status)
        self.done = done
        self.status = status
        self.applied = applied
