"""Tiers and tiered policy names (Calico 3.29+): how names map to stored objects, and what reads return.

Pure functions over a CalicoProfile (SPEC-3.29-3.32 §3, §4); state.py applies them. Vocabulary:
- request name: the name in the URL / body, as the client spelt it;
- backend name: the key Calico stores a 3.29-3.31 policy under (`<tier>.<name>`, `default.` for bare names);
- visible name: `metadata.name` on reads (per §3.2 table: as created, or the backend name on 3.29.0-3.29.3 / 3.30.0).
"""
from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, unknown_error
from .profiles import (DEFAULT_TIER, NAMES_TIERED, NAMES_TIERED_ALIAS, TIER_FINALIZER, TIER_LABEL, CalicoProfile)

TIERED_KINDS = ('GlobalNetworkPolicy', 'NetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedNetworkPolicy')
# Names created by Calico's own converters keep their prefix whatever the tier (names.policyNameIsFormatted).
FORMATTED_PREFIXES = ('knp.default.', 'kcnp.kube-admin.', 'kcnp.kube-baseline.', 'ossg.')


def tier_of(obj: dict) -> str:
    """`spec.tier`, "default" when empty (names.TierOrDefault)."""
    spec = obj.get('spec')
    tier = spec.get('tier') if isinstance(spec, dict) else None
    return tier if isinstance(tier, str) and tier else DEFAULT_TIER


def tier_from_name(name: str) -> str:
    """3.29-3.31 RBAC: the tier is the name's first dot-separated word; bare names are in the default tier."""
    if name.startswith(('knp.default.', 'ossg.')):
        return DEFAULT_TIER
    if name.startswith('kcnp.kube-admin.'):
        return 'kube-admin'
    if name.startswith('kcnp.kube-baseline.'):
        return 'kube-baseline'
    return name.split('.', 1)[0] if '.' in name else DEFAULT_TIER


def backend_name(name: str) -> str:
    """names.TieredPolicyName: bare names gain `default.`."""
    if not name or name.startswith(FORMATTED_PREFIXES) or '.' in name:
        return name
    return f'{DEFAULT_TIER}.{name}'


def client_name(backend: str) -> str:
    """names.ClientTieredPolicyName / determinePolicyName for objects without a recorded name: drop `default.`."""
    if backend.startswith(FORMATTED_PREFIXES):
        return backend
    tier, _sep, rest = backend.partition('.')
    return rest if rest and tier == DEFAULT_TIER else backend


def names_are_tiered(profile: CalicoProfile) -> bool:
    """3.29-3.31 store policies under backend names."""
    return profile.name_rules in (NAMES_TIERED_ALIAS, NAMES_TIERED)


def visible_name(profile: CalicoProfile, backend: str, recorded: str | None) -> str:
    """What reads return for an object stored under `backend` (§3.2, last column)."""
    if profile.name_rules == NAMES_TIERED_ALIAS:
        return backend
    if profile.name_rules == NAMES_TIERED:
        if recorded:
            return recorded
        return client_name(backend) if profile.strips_legacy_default_prefix else backend
    return backend


def alias_refused(profile: CalicoProfile, recorded: str | None) -> bool:
    """Whether the other spelling (`foo` vs `default.foo`) of an existing object is an error rather than an alias.
    3.29.0-3.29.3: aliases; 3.29.4+/3.30.1+/3.31: error; 3.30.0: error only for objects made on 3.30.0 (recorded)."""
    if profile.name_rules != NAMES_TIERED:
        return False
    return profile.strips_legacy_default_prefix or recorded is not None


def alias_not_found(kind: str, name: str) -> ApiError:
    """clientv3's plain error for a lookup by the other spelling; the API server passes it on as a 500 (inferred,
    §3.2)."""
    return unknown_error(f'resource not found {kind}({name})')


def name_tier_error(profile: CalicoProfile, name: str, tier: str) -> ApiError | None:
    """3.29-3.31: a non-default tier needs `<tier>.<name>`, a bare name needs the default tier (§3.2); a plain error,
    so HTTP 500 (inferred). 3.29.0-3.29.3 word it with the backend name (BackendTieredPolicyName)."""
    if not names_are_tiered(profile) or name.startswith(FORMATTED_PREFIXES):
        return None
    if profile.name_rules == NAMES_TIERED_ALIAS:
        spelt = backend_name(name)
        ok = spelt.startswith(f'{tier}.')
    else:
        spelt = name
        ok = ('.' not in name and tier == DEFAULT_TIER) or name.startswith(f'{tier}.')
    return None if ok else unknown_error(f'Incorrectly formatted policy name {spelt}')


def missing_tier_error(plural: str, namespace: str | None, name: str) -> ApiError:
    """API-server mode: clientv3's tier lookup fails and becomes a storage key-not-found for the *policy*, which the
    generic create path does not translate: HTTP 500 with the StorageError text (inferred, §3.1, §13)."""
    key = f'/projectcalico.org/{plural}/' + (f'{namespace}/' if namespace else '') + name
    return unknown_error(f'StorageError: key not found, Code: 1, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: ')


def webhook_denial(message: str) -> ApiError:
    """A validating webhook's rejection as kube-apiserver relays it: HTTP 400 with the webhook's reason (§5.2)."""
    return ApiError(400, f'admission webhook "tiered-rbac.projectcalico.org" denied the request: {message}',
                    reason='Forbidden')


# --- what reads return ------------------------------------------------------------------------------
def present_policy(obj: dict) -> None:
    """Every read of a tiered policy (3.29+) carries `spec.tier` ("default" if empty) and the tier label (§3.1)."""
    spec = obj.get('spec')
    if not isinstance(spec, dict):
        spec = obj['spec'] = {}
    spec['tier'] = tier_of(obj)
    meta = obj.setdefault('metadata', {})
    labels = meta.get('labels')
    if not isinstance(labels, dict):
        labels = meta['labels'] = {}
    labels[TIER_LABEL] = spec['tier']


def present_tier(profile: CalicoProfile, obj: dict) -> None:
    """API-server reads of a Tier fill order 1,000,000 and defaultAction Deny; the v3 CRD defaults defaultAction only
    (§4.2)."""
    spec = obj.get('spec')
    if not isinstance(spec, dict):
        return
    if not profile.crd_mode:
        spec.setdefault('order', 1_000_000)
    spec.setdefault('defaultAction', 'Deny')


def store_tier_label(profile: CalicoProfile, obj: dict) -> None:
    """What a write stores (§3.1): 3.32 sets `spec.tier` and the label always; 3.29-3.31 the label for non-default
    tiers only."""
    tier = tier_of(obj)
    if profile.stores_tier_label:
        spec = obj.setdefault('spec', {})
        if isinstance(spec, dict):
            spec['tier'] = tier
    elif tier == DEFAULT_TIER:
        return
    labels = obj.setdefault('metadata', {}).get('labels')
    if not isinstance(labels, dict):
        labels = obj['metadata']['labels'] = {}
    labels[TIER_LABEL] = tier


def builtin_tier_manifests(profile: CalicoProfile) -> list[dict]:
    """The tiers Calico creates at start-up (§4.1); the v3-CRD tier controller also puts its finalizer on them."""
    found = []
    for tier in profile.builtin_tiers:
        meta: dict[str, Any] = {'name': tier.name}
        if profile.crd_mode:
            meta['finalizers'] = [TIER_FINALIZER]
        found.append({'apiVersion': 'projectcalico.org/v3', 'kind': 'Tier', 'metadata': meta,
                      'spec': {'order': tier.order, 'defaultAction': tier.default_action}})
    return found


def builtin_action_causes(profile: CalicoProfile, obj: dict) -> list[dict]:
    """v3-CRD mode CEL on Tier: built-in tiers keep their defaultAction (§4.1)."""
    name = (obj.get('metadata') or {}).get('name')
    spec = obj.get('spec') if isinstance(obj.get('spec'), dict) else {}
    for tier in profile.builtin_tiers:
        if name == tier.name and spec.get('defaultAction') != tier.default_action:
            return [{'field': '<nil>', 'reason': 'FieldValueInvalid',
                     'message': f"Invalid value: \"object\": The '{tier.name}' tier must have default action "
                                f"'{tier.default_action}'"}]
    return []


def terminating(tier: dict, stamp: str) -> dict:
    """A v3-CRD tier whose deletion waits for its policies (finalizer `projectcalico.org/tier-controller`, §4.2)."""
    tier = copy.deepcopy(tier)
    tier['metadata'].setdefault('deletionTimestamp', stamp)
    tier['metadata']['deletionGracePeriodSeconds'] = 0
    tier['status'] = {'conditions': [{'type': 'Ready', 'status': 'False', 'reason': 'Terminating',
                                      'message': 'Tier is being deleted; waiting for its policies to be removed',
                                      'lastTransitionTime': stamp}]}
    return tier
