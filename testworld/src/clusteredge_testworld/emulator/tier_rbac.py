"""Tiered RBAC (Calico 3.29+): the checks Calico's `AuthorizeTierOperation` makes on top of plain RBAC.

SPEC-3.29-3.32 §5: a request on a tiered policy is allowed when the user may `get` `tiers`/<tier> **and** may do the
request's verb on the pseudo-resource `tier.<plural>` (same API group, the request's namespace) with resource name
equal to the request's name or the literal `<tier>.*`. The API server (§5.1) checks every verb and filters lists; the
v3-CRD webhook (§5.2) checks create/update/delete only and answers 400 with reason Forbidden.

Every check made is appended to the request record's `tier_checks` (and so to the request log), one dict per
SubjectAccessReview-like question: {verb, resource, name, namespace, group, tier, check, allowed} with `check` one of
`get-tier`, `policy` (by request name) or `tier-wildcard`. A tier passes when its `get-tier` check and one of its other
two pass; a request passes when every tier it names passes, except for list-like requests (`tier_filter: true` in the
log) which only need one readable tier.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Callable, Mapping

from .errors import ApiError, unknown_error
from .profiles import TIER_LABEL, CalicoProfile
from .resources import CALICO_GROUP, ResourceType
from .tiers import webhook_denial

# verb, API group, resource, resource name -> allowed (the user's plain RBAC)
Decide = Callable[[str, str, str, str | None], bool]

API_CHECKED = ('globalnetworkpolicies', 'networkpolicies', 'stagedglobalnetworkpolicies', 'stagednetworkpolicies')
WEBHOOK_CHECKED = API_CHECKED + ('stagedkubernetesnetworkpolicies',)


def allow_all(verb: str, group: str, resource: str, name: str | None) -> bool:
    return True


def gated(profile: CalicoProfile, rtype: ResourceType) -> bool:
    """Whether requests on `rtype` are tier-checked at all on this profile."""
    if not profile.has_tiers or rtype.group != CALICO_GROUP:
        return False
    return rtype.plural in (WEBHOOK_CHECKED if profile.crd_mode else API_CHECKED)


@dataclasses.dataclass
class TierGate:
    """The tier checks of one request (by one user, on one resource type and namespace)."""
    rtype: ResourceType
    namespace: str | None
    user: str
    decide: Decide
    checks: list[dict]

    def _ask(self, verb: str, resource: str, name: str, namespace: str | None, tier: str, kind: str) -> bool:
        allowed = bool(self.decide(verb, CALICO_GROUP, resource, name or None))
        self.checks.append({'verb': verb, 'resource': resource, 'name': name, 'namespace': namespace or '',
                            'group': CALICO_GROUP, 'tier': tier, 'check': kind, 'allowed': allowed})
        return allowed

    def _tier(self, verb: str, name_attr: str, tier: str) -> tuple[bool, bool]:
        """(may get the tier, may do `verb` on the policy by name or by `<tier>.*`)."""
        pseudo = f'tier.{self.rtype.plural}'
        get_tier = self._ask('get', 'tiers', tier, None, tier, 'get-tier')
        by_name = self._ask(verb, pseudo, name_attr, self.namespace, tier, 'policy')
        by_tier = self._ask(verb, pseudo, f'{tier}.*', self.namespace, tier, 'tier-wildcard')
        return get_tier, by_name or by_tier

    def reason(self, verb: str, tier: str, get_tier: bool) -> str:
        """authorizer.forbiddenMessage."""
        text = f'User "{self.user}" cannot {verb} {self.rtype.qualified_plural} in tier "{tier}"'
        if self.namespace:
            text += f' and namespace "{self.namespace}"'
        return text if get_tier else text + ' (user cannot get tier)'

    def forbidden_text(self, policy_name: str, reason: str) -> str:
        """k8s NewForbidden's message."""
        subject = f'{self.rtype.qualified_plural} "{policy_name}"' if policy_name else self.rtype.qualified_plural
        return f'{subject} is forbidden: {reason}'

    def authorize(self, verb: str, name_attr: str, policy_name: str, tier: str) -> None:
        """API-server mode: 403 Forbidden naming the tier."""
        get_tier, policy = self._tier(verb, name_attr, tier)
        if get_tier and policy:
            return
        details = {'group': CALICO_GROUP, 'kind': self.rtype.plural}
        if policy_name:
            details = {'name': policy_name, **details}
        raise ApiError(403, self.forbidden_text(policy_name, self.reason(verb, tier, get_tier)), details=details)

    def admit(self, operation: str, obj_name: str, tier: str, old_tier: str | None = None) -> None:
        """v3-CRD webhook `tiered-rbac.projectcalico.org`: verb = operation, name = the object's name even on create;
        a tier change also needs the old tier. Denial: HTTP 400, reason Forbidden (§5.2)."""
        for checked, prefix in ((tier, 'Authorization failed: '), (old_tier, 'Authorization failed for old tier: ')):
            if checked is None:
                continue
            get_tier, policy = self._tier(operation, obj_name, checked)
            if not (get_tier and policy):
                raise webhook_denial(prefix + self.forbidden_text(obj_name, self.reason(operation, checked, get_tier)))

    def list_filter(self, verb: str, query: Mapping[str, str], tiers: list[str]) -> Callable[[dict], bool] | None:
        """list/watch (and tier-checked deletecollection): an explicit tier selector must be readable (403 otherwise);
        without one the result is silently restricted to readable tiers, 403 when there is none (§5.1)."""
        asked = requested_tiers(query)
        if asked is not None:
            for tier in asked:
                self.authorize(verb, '', '', tier)
            return None  # the client's own selector already restricts the result
        readable = [t for t in tiers if all(self._tier(verb, '', t))]
        if not readable and tiers:
            raise ApiError(403, self.forbidden_text('', 'operation on Calico tiered policy is forbidden'),
                           details={'group': CALICO_GROUP, 'kind': self.rtype.plural})
        allowed = frozenset(readable)
        return lambda obj: ((obj.get('metadata') or {}).get('labels') or {}).get(TIER_LABEL) in allowed


_FIELD_RE = re.compile(r'^\s*spec\.tier\s*(==|!=|=)\s*(.*?)\s*$')
_LABEL_KEY = re.escape(TIER_LABEL)
_LABEL_SET_RE = re.compile(rf'(?:^|,)\s*{_LABEL_KEY}\s+(in|notin)\s*\(([^)]*)\)')
_LABEL_EQ_RE = re.compile(rf'(?:^|,)\s*{_LABEL_KEY}\s*(==|!=|=)\s*([^,\s]*)')
_LABEL_OTHER_RE = re.compile(rf'(?:^|,)\s*!?\s*{_LABEL_KEY}\s*(?:,|$)')


def requested_tiers(query: Mapping[str, str]) -> list[str] | None:
    """Tiers named by a `spec.tier` field selector or a `projectcalico.org/tier` label selector (util/rbac.go
    getTiersFromSelector); other operators are a plain error (HTTP 500)."""
    for part in (query.get('fieldSelector') or '').split(','):
        m = _FIELD_RE.match(part)
        if m:
            if m.group(1) == '!=':
                raise unknown_error('non equal selector operator not supported for field spec.tier')
            return [m.group(2)]
    labels = query.get('labelSelector') or ''
    m = _LABEL_SET_RE.search(labels)
    if m:
        values = [v.strip() for v in m.group(2).split(',') if v.strip()]
        if m.group(1) == 'in':
            return sorted(set(values))
        if len(values) > 1:
            raise unknown_error('non IN multi-valued selector not supported for label projectcalico.org/tier')
        raise unknown_error('non equal selector operator not supported for label projectcalico.org/tier')
    m = _LABEL_EQ_RE.search(labels)
    if m:
        if m.group(1) == '!=':
            raise unknown_error('non equal selector operator not supported for label projectcalico.org/tier')
        return [m.group(2)]
    if _LABEL_OTHER_RE.search(labels):
        raise unknown_error('non equal selector operator not supported for label projectcalico.org/tier')
    return None
