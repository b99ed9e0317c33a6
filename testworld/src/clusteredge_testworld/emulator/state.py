"""In-memory cluster state with kube-apiserver write semantics (metadata, optimistic concurrency, dry run), and the
Calico behaviour of the chosen profile (profiles.py): tiers, tiered policy names, server-filled fields, upgrades."""
from __future__ import annotations

import copy
import dataclasses
import datetime
import ipaddress
import itertools
import re
import threading
import uuid
from typing import Any, Callable

from . import calico_admission, tiers, validation
from .errors import ApiError, already_exists, bad_request, conflict, invalid, not_found, unknown_error
from .label_selectors import SelectorSyntaxError, parse_field_selector, parse_label_selector
from .patching import PatchError, json_patch, merge_patch
from .profiles import (NAMES_FREE, NAMES_K8S, NAMES_LABEL, TIER_FINALIZER, CalicoProfile, parse_profile,
                       resolve_profile)
from .resources import CALICO_CRD_GROUP, CALICO_GROUP, Registry, ResourceType, build_registry
from .services import ClusterIPAllocator, prepare_service_create, prepare_service_update, release_service
from .tiers import TIERED_KINDS, tier_of

ObjectKey = tuple[str, str, str, str, str]   # group, version, plural, namespace ('' if cluster-scoped), name
DNS1035_LABEL_RE = re.compile(r'^[a-z]([-a-z0-9]*[a-z0-9])?$')
CORE_FIELD_SELECTORS = {'pods': {'spec.nodeName', 'status.phase', 'spec.serviceAccountName'},
                        'namespaces': {'status.phase'}}
CALICO_VERSION = 'v3.28.5'   # the 3.28 profile's; see CalicoProfile.calico_version
STRATEGIC_MERGE = 'application/strategic-merge-patch+json'
BGP_ATOMIC_LISTS = ('serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs', 'communities',
                    'prefixAdvertisements')
Check = Callable[[str, 'dict | None', 'dict | None'], None]   # (operation, new object, old object)


@dataclasses.dataclass
class WriteHooks:
    """What the HTTP layer hands a write: tiered-RBAC callbacks at the two points Calico checks, and the warnings the
    write produced (returned as `Warning: 299` headers)."""
    api_check: Check | None = None   # Calico API server REST layer: before Calico validation (API-server mode)
    webhook: Check | None = None     # validating admission webhooks: after schema validation (v3-CRD mode)
    warnings: list[str] = dataclasses.field(default_factory=list)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class ClusterState:
    def __init__(self, calico_api: bool = True, service_cidrs: tuple[str, ...] = ('10.96.0.0/12',),
                 bootstrap: bool = True, profile: 'str | CalicoProfile | None' = None):
        """`profile`: the Calico profile (profiles.py); default $EMULATOR_CALICO_PROFILE, else 3.28."""
        self.profile = resolve_profile(profile)
        self.calico_api = calico_api
        self.registry = Registry(build_registry(calico_api, self.profile))
        self.service_cidrs = tuple(service_cidrs)
        self.allocator = ClusterIPAllocator(self.service_cidrs)
        self.bootstrap = bootstrap
        self.lock = threading.RLock()
        self.objects: dict[ObjectKey, dict] = {}
        # 3.29.4+-3.31 keep the name a policy was created with (the backend's projectcalico.org/metadata annotation).
        self.recorded_names: dict[ObjectKey, str] = {}
        self._rv = itertools.count(1000)
        self.resource_version = '1000'
        self.reset()

    # --- bookkeeping --------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.objects.clear()
            self.recorded_names.clear()
            self.allocator.reset()
            if self.bootstrap:
                self.seed(default_objects(self))

    def next_rv(self) -> str:
        self.resource_version = str(next(self._rv))
        return self.resource_version

    @staticmethod
    def key(rtype: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return (rtype.group, rtype.version, rtype.plural, namespace or '' if rtype.namespaced else '', name)

    # --- Calico policy names and what reads return (SPEC-3.29-3.32 §3) ---------------------------------
    def _tiered(self, rtype: ResourceType) -> bool:
        return self.profile.has_tiers and rtype.group == CALICO_GROUP and rtype.kind in TIERED_KINDS

    def _stored_name(self, rtype: ResourceType, name: str) -> str:
        """3.29-3.31 keep policies under backend names (`default.foo` for `foo`); otherwise the name itself."""
        if self._tiered(rtype) and tiers.names_are_tiered(self.profile):
            return tiers.backend_name(name)
        return name

    def _find(self, rtype: ResourceType, namespace: str | None, name: str) -> tuple[ObjectKey, dict | None]:
        """Storage key and stored object for a request name; the other spelling of an existing policy is an alias or
        an error depending on the version (§3.2)."""
        key = self.key(rtype, namespace, self._stored_name(rtype, name))
        obj = self.objects.get(key)
        if obj is not None and obj['metadata']['name'] != name and self._tiered(rtype) \
                and tiers.alias_refused(self.profile, self.recorded_names.get(key)):
            raise tiers.alias_not_found(rtype.kind, name)
        return key, obj

    def storage_key(self, rtype: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        with self.lock:
            return self._find(rtype, namespace, name)[0]

    def peek(self, rtype: ResourceType, namespace: str | None, name: str) -> dict | None:
        """The stored object a request name addresses (raw, not presented), or None."""
        with self.lock:
            obj = self._find(rtype, namespace, name)[1]
            return copy.deepcopy(obj) if obj is not None else None

    def present(self, rtype: ResourceType, obj: dict) -> dict:
        """A copy of a stored object as reads return it: server-filled defaults, and on 3.29+ `spec.tier` and the tier
        label of policies (§3.1, §6.2). The 3.28 profile returns the stored object unchanged."""
        out = copy.deepcopy(obj)
        if rtype.group in (CALICO_GROUP, CALICO_CRD_GROUP):
            for path, value in self.profile.read_defaults(rtype.kind):
                _fill_default(out, path, value)
            if self._tiered(rtype):
                tiers.present_policy(out)
            elif rtype.group == CALICO_GROUP and rtype.kind == 'Tier':
                tiers.present_tier(self.profile, out)
        return out

    def tier_names(self) -> list[str]:
        """Existing tiers (projectcalico.org/v3)."""
        with self.lock:
            return [k[4] for k in sorted(self.objects) if k[:3] == (CALICO_GROUP, 'v3', 'tiers')]

    def _tier(self, name: str) -> dict | None:
        return self.objects.get((CALICO_GROUP, 'v3', 'tiers', '', name))

    def _tier_members(self, tier: str) -> list[ObjectKey]:
        kinds = {'globalnetworkpolicies', 'networkpolicies', 'stagedglobalnetworkpolicies', 'stagednetworkpolicies'}
        return [k for k, o in self.objects.items() if k[0] == CALICO_GROUP and k[2] in kinds and tier_of(o) == tier]

    def _decorate(self, rtype: ResourceType, obj: dict) -> dict:
        obj['apiVersion'] = rtype.api_version
        obj['kind'] = rtype.kind
        return obj

    def _new_metadata(self, obj: dict) -> None:
        meta = obj.setdefault('metadata', {})
        meta['uid'] = str(uuid.uuid4())
        meta['creationTimestamp'] = now_rfc3339()
        meta['generation'] = 1
        for server_field in ('deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'):
            meta.pop(server_field, None)

    # --- reads --------------------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict:
        with self.lock:
            obj = self._find(rtype, namespace, name)[1]
            if obj is None:
                raise not_found(rtype, name)
            return self.present(rtype, obj)

    def list(self, rtype: ResourceType, namespace: str | None, query: dict,
             item_filter: Callable[[dict], bool] | None = None) -> dict:
        """`item_filter`: an extra restriction (tiered RBAC's readable tiers), applied to presented objects."""
        try:
            label_match = parse_label_selector(query.get('labelSelector', ''))
            allowed = CORE_FIELD_SELECTORS.get(rtype.plural, set()) if not rtype.group else set()
            if self._tiered(rtype):
                allowed = {'spec.tier'}   # a selectable field of the policy kinds (§3.1)
            field_match = parse_field_selector(
                query.get('fieldSelector', ''),
                lambda f: f in ('metadata.name', 'metadata.namespace') or f in allowed)
        except SelectorSyntaxError as exc:
            raise bad_request(str(exc)) from None
        with self.lock:
            shown = (self.present(rtype, obj) for key, obj in sorted(self.objects.items())
                     if key[:3] == (rtype.group, rtype.version, rtype.plural)
                     and (not namespace or not rtype.namespaced or key[3] == namespace))
            items = [obj for obj in shown if label_match(obj.get('metadata', {}).get('labels') or {})
                     and field_match(obj) and (item_filter is None or item_filter(obj))]
            rv = self.resource_version
        meta: dict = {'resourceVersion': rv}
        start = 0
        if query.get('continue'):
            try:
                start = int(query['continue'])
            except ValueError:
                raise ApiError(400, 'continue key is not valid: invalid continue token') from None
        limit = int(query['limit']) if str(query.get('limit', '')).isdigit() and int(query['limit']) > 0 else None
        if start or limit:
            page = items[start:start + limit] if limit else items[start:]
            if limit and start + limit < len(items):
                meta['continue'] = str(start + limit)
                meta['remainingItemCount'] = len(items) - start - limit
            items = page
        return {'kind': f'{rtype.kind}List', 'apiVersion': rtype.api_version, 'metadata': meta, 'items': items}

    # --- writes -------------------------------------------------------------------------------------
    def _check_body(self, rtype: ResourceType, body, namespace: str | None, name: str | None = None) -> dict:
        if not isinstance(body, dict):
            raise bad_request(f'the body of the request must be a {rtype.kind} object')
        obj = copy.deepcopy(body)
        if obj.get('apiVersion') and obj['apiVersion'] != rtype.api_version:
            raise bad_request(f'the API version in the data ({obj["apiVersion"]}) does not match the expected '
                              f'API version ({rtype.api_version})')
        if obj.get('kind') and obj['kind'] != rtype.kind:
            raise bad_request(f'the kind in the data ({obj["kind"]}) does not match the expected kind ({rtype.kind})')
        meta = obj.get('metadata')
        if meta is None:
            meta = obj['metadata'] = {}
        if not isinstance(meta, dict):
            raise bad_request('metadata must be an object')
        if rtype.namespaced:
            if meta.get('namespace') and namespace and meta['namespace'] != namespace:
                raise bad_request('the namespace of the provided object does not match the namespace sent on '
                                  'the request')
            meta['namespace'] = namespace or meta.get('namespace')
            if not meta['namespace']:
                raise bad_request('the namespace of the provided object is required')
        else:
            meta.pop('namespace', None)
        if name is not None:
            if meta.get('name') and meta['name'] != name:
                raise bad_request(f'the name of the object ({meta["name"]}) does not match the name on the URL ({name})')
            meta['name'] = name
        return self._decorate(rtype, obj)

    def _admit(self, rtype: ResourceType, obj: dict, old: dict | None, hooks: WriteHooks | None = None) -> None:
        """Generic ObjectMeta validation, then type-specific admission (Calico, Services). In v3-CRD mode Calico's
        Go validation does not run: the CRD schema, CEL and admission policies do (crd_mode.py,
        SPEC-3.29-3.32 §6.1)."""
        meta = obj['metadata']
        name = meta.get('name') or ''
        causes: list[dict] = []
        if rtype.group == CALICO_GROUP and self.profile.crd_mode:
            causes = self._crd_admission(rtype, obj, old, hooks)
        elif rtype.group == CALICO_GROUP and calico_admission.admits(rtype.kind, self.profile):
            causes = calico_admission.admit(rtype.kind, obj, self.profile)
        else:
            causes = self._meta_causes(rtype, meta)
        if causes:
            raise invalid(rtype, name, causes)

    def _crd_admission(self, rtype: ResourceType, obj: dict, old: dict | None, hooks: WriteHooks | None) -> list[dict]:
        crd_mode = _crd_mode()
        causes: list[dict] = []
        warnings: list[str] = []
        if crd_mode is not None:   # it also does kube-apiserver's ObjectMeta checks
            found, warned = crd_mode.admit(rtype.kind, obj, old, self.profile)
            causes, warnings = list(found), list(warned)
        else:
            causes = self._meta_causes(rtype, obj['metadata'])
            if rtype.kind == 'Tier':
                causes += tiers.builtin_action_causes(self.profile, obj)   # the Tier CRD's CEL
        if self._tiered(rtype):
            tiers.store_tier_label(self.profile, obj)   # the tierlabel MutatingAdmissionPolicy (§3.1)
        if hooks is not None:
            hooks.warnings.extend(warnings)
        return causes

    def _meta_causes(self, rtype: ResourceType, meta: dict) -> list[dict]:
        """kube-apiserver's ObjectMeta validation (name, labels) for non-Calico kinds and for v3 CRDs."""
        name = meta.get('name') or ''
        causes: list[dict] = []
        if not name:
            causes.append({'field': 'metadata.name', 'reason': 'FieldValueRequired',
                           'message': 'Required value: name or generateName is required'})
        else:
            if rtype.plural in ('namespaces', 'services'):
                rx_ok = (validation.DNS1123_LABEL_RE if rtype.plural == 'namespaces' else DNS1035_LABEL_RE).match(name)
                err = None if rx_ok and len(name) <= 63 else 'a lowercase RFC 1123/1035 label is required'
            else:
                err = validation.dns1123_subdomain_error(name)
            if err:
                causes.append({'field': 'metadata.name', 'message': f'Invalid value: "{name}": {err}'})
        for key, value in (meta.get('labels') or {}).items():
            err = validation.qualified_name_error(key) or (
                validation.label_value_error(value) if isinstance(value, str) else 'must be a string')
            if err:
                causes.append({'field': 'metadata.labels', 'message': f'Invalid value: "{key}": {err}'})
        return causes

    def _require_namespace(self, rtype: ResourceType, namespace: str | None) -> None:
        if rtype.namespaced and self.bootstrap and namespace:
            ns_type = self.registry.lookup('', 'v1', 'namespaces')
            if self.key(ns_type, None, namespace) not in self.objects:
                raise not_found(ns_type, namespace)

    def create(self, rtype: ResourceType, namespace: str | None, body, dry_run: bool = False,
               hooks: WriteHooks | None = None) -> dict:
        obj = self._check_body(rtype, body, namespace)
        meta = obj['metadata']
        if not meta.get('name') and meta.get('generateName'):
            meta['name'] = meta['generateName'] + uuid.uuid4().hex[:5]
        with self.lock:
            self._require_namespace(rtype, meta.get('namespace'))
            tiered = self._tiered(rtype)
            if hooks is not None and hooks.api_check is not None:
                hooks.api_check('create', obj, None)
            if tiered and self.profile.api_server and self._tier(tier_of(obj)) is None:
                # clientv3 looks the tier up before validating (§3.1)
                raise tiers.missing_tier_error(rtype.plural, meta.get('namespace'), meta.get('name') or '')
            self._admit(rtype, obj, None, hooks)
            if tiered:
                self._check_name_tier(meta['name'], obj)
            self._webhooks(rtype, 'create', obj, None, hooks)
            key = self.key(rtype, meta.get('namespace'), self._stored_name(rtype, meta['name']))
            if key in self.objects:
                raise already_exists(rtype, meta['name'])
            self._new_metadata(obj)
            self._type_create(rtype, obj, reserve=not dry_run)
            self._prepare_store(rtype, key, obj, meta['name'])
            if dry_run:
                meta.pop('resourceVersion', None)
                return self.present(rtype, obj)
            meta['resourceVersion'] = self.next_rv()
            self.objects[key] = obj
            self._remember_name(rtype, key, meta['name'])
            self._controllers(rtype)
            return self.present(rtype, self.objects[key])

    def _type_create(self, rtype: ResourceType, obj: dict, reserve: bool) -> None:
        if rtype.group == '' and rtype.plural == 'services':
            prepare_service_create(self.allocator, obj, reserve=reserve)
        elif rtype.group == '' and rtype.plural == 'namespaces':
            obj['metadata'].setdefault('labels', {})['kubernetes.io/metadata.name'] = obj['metadata']['name']
            obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
            obj['status'] = {'phase': 'Active'}

    # --- Calico write rules -------------------------------------------------------------------------
    def _check_name_tier(self, name: str, obj: dict) -> None:
        err = tiers.name_tier_error(self.profile, name, tier_of(obj))
        if err is not None:
            raise err

    def _webhooks(self, rtype: ResourceType, operation: str, new: dict | None, old: dict | None,
                  hooks: WriteHooks | None) -> None:
        """v3-CRD mode: the `tiered-rbac.projectcalico.org` webhook (tier must exist and not be terminating, then
        tiered RBAC) on the policy kinds (§3.1, §5.2)."""
        if not (self.profile.crd_mode and rtype.group == CALICO_GROUP):
            return
        if self._tiered(rtype) and new is not None and (old is None or tier_of(new) != tier_of(old)):
            tier = self._tier(tier_of(new))
            if tier is None:
                raise tiers.webhook_denial(f'Tier "{tier_of(new)}" does not exist')
            if tier['metadata'].get('deletionTimestamp'):
                raise tiers.webhook_denial(f'Tier "{tier_of(new)}" is being deleted')
        if hooks is not None and hooks.webhook is not None:
            hooks.webhook(operation, new, old)

    def _prepare_store(self, rtype: ResourceType, key: ObjectKey, obj: dict, request_name: str) -> None:
        """What Calico stores for a write: the name reads will show, the tier label (§3.1), the tier finalizer."""
        if self._tiered(rtype):
            tiers.store_tier_label(self.profile, obj)
            recorded = request_name if self.profile.records_policy_names else None
            obj['metadata']['name'] = tiers.visible_name(self.profile, key[4], recorded) \
                if tiers.names_are_tiered(self.profile) else request_name
        elif rtype.group == CALICO_GROUP and rtype.kind == 'Tier' and self.profile.crd_mode:
            finalizers = obj['metadata'].setdefault('finalizers', [])
            if TIER_FINALIZER not in finalizers:
                finalizers.append(TIER_FINALIZER)

    def _remember_name(self, rtype: ResourceType, key: ObjectKey, request_name: str) -> None:
        if self._tiered(rtype) and self.profile.records_policy_names:
            self.recorded_names[key] = request_name

    def _controllers(self, rtype: ResourceType) -> None:
        """What Calico's controllers do right after a write (only in v3-CRD mode): IPPool conditions, tier finalizer."""
        if not self.profile.crd_mode or rtype.group != CALICO_GROUP:
            return
        if rtype.kind == 'IPPool':
            self._reconcile_ippools()
        elif self._tiered(rtype):
            self._finish_tier_deletions()

    def _reconcile_ippools(self) -> None:
        """v3-CRD mode IPPool controller: `status.conditions` Allocatable (reasons OK, PoolDisabled, CIDROverlap,
        Terminating); an overlapping pool is accepted, then marked not allocatable (§6.3, §9.5). Inferred wording."""
        pools = sorted(((k, o) for k, o in self.objects.items() if k[:3] == (CALICO_GROUP, 'v3', 'ippools')),
                       key=lambda item: (item[1]['metadata'].get('creationTimestamp') or '', item[0][4]))
        earlier: list[Any] = []
        for _key, pool in pools:
            spec = pool.get('spec') if isinstance(pool.get('spec'), dict) else {}
            try:
                net = ipaddress.ip_network(spec.get('cidr', ''), strict=False)
            except (TypeError, ValueError):
                net = None
            if pool['metadata'].get('deletionTimestamp'):
                status, reason, message = 'False', 'Terminating', 'IP pool is being deleted'
            elif spec.get('disabled'):
                status, reason, message = 'False', 'PoolDisabled', 'IP pool is disabled'
            elif net is not None and any(net.version == e.version and net.overlaps(e) for e in earlier):
                status, reason, message = 'False', 'CIDROverlap', 'IP pool CIDR overlaps with an existing pool'
            else:
                status, reason, message = 'True', 'OK', 'IP pool is allocatable'
            if net is not None and status == 'True':
                earlier.append(net)
            old = ((pool.get('status') or {}).get('conditions') or [{}])[0]
            if (old.get('status'), old.get('reason')) != (status, reason):
                pool['status'] = {'conditions': [{'type': 'Allocatable', 'status': status, 'reason': reason,
                                                  'message': message, 'lastTransitionTime': now_rfc3339()}]}

    def _finish_tier_deletions(self) -> None:
        """v3-CRD tier controller: a terminating tier goes once its last policy is gone (§4.2)."""
        for name in self.tier_names():
            tier = self._tier(name)
            if tier is not None and tier['metadata'].get('deletionTimestamp') and not self._tier_members(name):
                del self.objects[(CALICO_GROUP, 'v3', 'tiers', '', name)]
                self.next_rv()

    def _guard_tier_delete(self, tier: dict) -> None:
        """Built-in tiers refuse deletion; in API-server mode so do tiers still holding policies (§4.1, §4.2,
        §13)."""
        name = tier['metadata']['name']
        if self.profile.crd_mode:   # ValidatingAdmissionPolicy protect-builtin-tiers, shipped with 3.32.1 (#12982)
            crd_mode = _crd_mode()
            if crd_mode is not None:
                denials = crd_mode.admit_delete('Tier', tier, self.profile)
                if denials:
                    raise crd_mode.denial_error('Tier', name, denials)
            elif name in self.profile.protected_tiers and self.profile.at_least((3, 32), 1):
                policy = 'protect-builtin-tiers.projectcalico.org'
                text = (f"ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request: "
                        f"The built-in tier {name} cannot be deleted")
                raise ApiError(422, f'tiers.projectcalico.org "{name}" is forbidden: {text}', reason='Invalid',
                               details={'name': name, 'group': CALICO_GROUP, 'kind': 'tiers',
                                        'causes': [{'message': text}]})
            return
        if name in self.profile.protected_tiers:
            raise unknown_error(f'operation Delete is not supported on {name}: Cannot delete {name} tier')
        if self._tier_members(name):
            raise unknown_error(f'operation delete is not supported on {name}: Cannot delete a non-empty tier')

    # --- updates ------------------------------------------------------------------------------------
    def replace(self, rtype: ResourceType, namespace: str | None, name: str, body, dry_run: bool = False,
                subresource: str | None = None, _from_patch: bool = False, hooks: WriteHooks | None = None) -> dict:
        obj = self._check_body(rtype, body, namespace, name)
        with self.lock:
            key, old = self._find(rtype, namespace, name)
            if old is None:
                raise not_found(rtype, name)
            if hooks is not None and hooks.api_check is not None and subresource is None:
                hooks.api_check('update', obj, old)
            rv = obj['metadata'].get('resourceVersion')
            if rv:
                if rv != old['metadata']['resourceVersion']:
                    raise conflict(rtype, name)
            elif not _from_patch and rtype.group and not rtype.group.endswith('k8s.io'):
                # Custom and aggregated (Calico) resources refuse unconditional updates.
                raise invalid(rtype, name, [{'field': 'metadata.resourceVersion',
                                             'message': 'Invalid value: 0x0: must be specified for an update'}])
            if subresource == 'status':
                merged = copy.deepcopy(old)
                merged['status'] = obj.get('status')
                obj = merged
            else:
                if 'status' in rtype.subresources:
                    obj.pop('status', None)
                    if 'status' in old:
                        obj['status'] = copy.deepcopy(old['status'])
                self._admit(rtype, obj, old, hooks)
                if self._tiered(rtype):
                    self._check_name_tier(name, obj)
                self._webhooks(rtype, 'update', obj, old, hooks)
                if rtype.group == '' and rtype.plural == 'services':
                    prepare_service_update(old, obj)
            meta, old_meta = obj['metadata'], old['metadata']
            for kept in ('uid', 'creationTimestamp', 'generation'):
                meta[kept] = old_meta.get(kept)
            if rtype.group == '' and rtype.plural == 'namespaces':
                meta.setdefault('labels', {})['kubernetes.io/metadata.name'] = name
                obj['status'] = old.get('status')
            if subresource is None:
                self._prepare_store(rtype, key, obj, name)
            if old_meta.get('deletionTimestamp'):
                meta['deletionTimestamp'] = old_meta['deletionTimestamp']
            shown_old, shown_new = self.present(rtype, old), self.present(rtype, obj)
            if _spec_changed(shown_old, shown_new):
                meta['generation'] = (old_meta.get('generation') or 1) + 1
                shown_new['metadata']['generation'] = meta['generation']
            if shown_new == shown_old:  # no-op updates keep the resourceVersion, like the real apiserver
                return shown_old
            if dry_run:
                return shown_new
            meta['resourceVersion'] = self.next_rv()
            self.objects[key] = obj
            self._remember_name(rtype, key, name)
            if self._finalized(rtype, key, obj):
                return self.present(rtype, obj)
            self._controllers(rtype)
            return self.present(rtype, self.objects[key])

    def _finalized(self, rtype: ResourceType, key: ObjectKey, obj: dict) -> bool:
        """A terminating v3-CRD tier whose finalizers were removed is gone."""
        if rtype.group == CALICO_GROUP and rtype.kind == 'Tier' and obj['metadata'].get('deletionTimestamp') \
                and not obj['metadata'].get('finalizers'):
            del self.objects[key]
            return True
        return False

    def patch(self, rtype: ResourceType, namespace: str | None, name: str, patch_body, content_type: str,
              dry_run: bool = False, subresource: str | None = None, field_manager: str | None = None,
              hooks: WriteHooks | None = None) -> tuple[int, dict]:
        """Returns (HTTP status, object): 201 when server-side apply created the object."""
        ctype = (content_type or '').split(';')[0].strip().lower()
        if ctype == STRATEGIC_MERGE and rtype.group == CALICO_GROUP and not self.profile.strategic_merge_patch:
            # custom resources know no strategic merge patch (SPEC-3.29-3.32 §6.3)
            raise ApiError(415, 'the body of the request was in an unknown format - accepted media types include: '
                                'application/json-patch+json, application/merge-patch+json, '
                                'application/apply-patch+yaml')
        with self.lock:
            key, old = self._find(rtype, namespace, name)
            if ctype == 'application/apply-patch+yaml':
                if not field_manager:
                    raise bad_request('PATCH request with apply content type requires fieldManager')
                if not isinstance(patch_body, dict):
                    raise bad_request('apply patch must be an object')
                self._check_apply(rtype, name, patch_body)
                if old is None:
                    if subresource or (self._tiered(rtype) and self.profile.ssa_create_tiered_policy_fails):
                        raise not_found(rtype, name)
                    body = self._check_body(rtype, patch_body, namespace, name)
                    return 201, self.create(rtype, namespace, body, dry_run=dry_run, hooks=hooks)
                new = merge_patch(self.present(rtype, old), patch_body)
            else:
                if old is None:
                    raise not_found(rtype, name)
                base = self.present(rtype, old)   # a patch applies to the object as the API shows it
                try:
                    if ctype == 'application/json-patch+json':
                        new = json_patch(base, patch_body)
                    elif ctype in ('application/merge-patch+json', STRATEGIC_MERGE):
                        if not isinstance(patch_body, dict):
                            raise PatchError('a merge patch must be a JSON object')
                        new = merge_patch(base, patch_body)
                    else:
                        raise ApiError(415, f'the body of the request was in an unknown format - accepted media '
                                            f'types include: application/json-patch+json, application/merge-patch+json, '
                                            f'application/apply-patch+yaml (got {ctype!r})')
                except PatchError as exc:
                    raise ApiError(422, f'the server rejected our request due to an error in our request: {exc}',
                                   details={'name': name, 'group': rtype.group, 'kind': rtype.plural}) from None
            if not isinstance(new, dict):
                raise bad_request('patch produced a non-object')
            new.setdefault('metadata', {})
            if not new['metadata'].get('resourceVersion'):
                new['metadata']['resourceVersion'] = old['metadata']['resourceVersion']
            return 200, self.replace(rtype, namespace, name, new, dry_run=dry_run, subresource=subresource,
                                     _from_patch=True, hooks=hooks)

    def _check_apply(self, rtype: ResourceType, name: str, patch_body: dict) -> None:
        """3.32.0: server-side apply of BGPConfiguration lists of objects failed (fixed in 3.32.1, §6.3)."""
        if not (rtype.group == CALICO_GROUP and rtype.kind == 'BGPConfiguration' and self.profile.ssa_bgp_lists_fail):
            return
        spec = patch_body.get('spec') if isinstance(patch_body.get('spec'), dict) else {}
        for field in BGP_ATOMIC_LISTS:
            values = spec.get(field)
            index = next((i for i, v in enumerate(values) if isinstance(v, dict)), None) \
                if isinstance(values, list) else None
            if index is not None:
                raise unknown_error(f'failed to create typed patch object (/{name}; projectcalico.org/v3, '
                                    f'Kind=BGPConfiguration): .spec.{field}: element {index}: associative list '
                                    f'without keys has an element that\'s a map type')

    def delete(self, rtype: ResourceType, namespace: str | None, name: str, options: dict | None = None,
               dry_run: bool = False, hooks: WriteHooks | None = None) -> dict:
        options = options or {}
        with self.lock:
            key, obj = self._find(rtype, namespace, name)
            if obj is None:
                raise not_found(rtype, name)
            pre = options.get('preconditions') or {}
            if pre.get('resourceVersion') and pre['resourceVersion'] != obj['metadata']['resourceVersion']:
                raise conflict(rtype, name, f'Precondition failed: ResourceVersion in precondition: '
                                            f'{pre["resourceVersion"]}, ResourceVersion in object meta: '
                                            f'{obj["metadata"]["resourceVersion"]}')
            if pre.get('uid') and pre['uid'] != obj['metadata']['uid']:
                raise conflict(rtype, name, f'Precondition failed: UID in precondition: {pre["uid"]}, '
                                            f'UID in object meta: {obj["metadata"]["uid"]}')
            if hooks is not None and hooks.api_check is not None:
                hooks.api_check('delete', None, obj)
            calico_tier = rtype.group == CALICO_GROUP and rtype.kind == 'Tier'
            if calico_tier:
                self._guard_tier_delete(obj)
            self._webhooks(rtype, 'delete', None, obj, hooks)
            if calico_tier and self.profile.crd_mode and (self._tier_members(name) or
                                                          obj['metadata'].get('deletionTimestamp')):
                # the finalizer keeps it: Terminating until its policies are gone
                waiting = tiers.terminating(obj, now_rfc3339())
                if not dry_run:
                    waiting['metadata']['resourceVersion'] = self.next_rv()
                    self.objects[key] = waiting
                return self.present(rtype, waiting)
            result = self.present(rtype, obj)
            if dry_run:
                return result
            del self.objects[key]
            self.recorded_names.pop(key, None)
            if rtype.group == '' and rtype.plural == 'services':
                release_service(self.allocator, obj)
            if rtype.group == '' and rtype.plural == 'namespaces':
                for other in [k for k in self.objects if k[3] == name]:
                    if other[:3] == ('', 'v1', 'services'):
                        release_service(self.allocator, self.objects[other])
                    del self.objects[other]
                    self.recorded_names.pop(other, None)
                result.setdefault('status', {})['phase'] = 'Terminating'
            self.next_rv()
            self._controllers(rtype)
            return result

    def delete_collection(self, rtype: ResourceType, namespace: str | None, query: dict, dry_run: bool,
                          hooks: WriteHooks | None = None, item_filter: Callable[[dict], bool] | None = None) -> dict:
        with self.lock:
            listing = self.list(rtype, namespace, query, item_filter)
            for item in listing['items']:
                self.delete(rtype, item['metadata'].get('namespace'), item['metadata']['name'], dry_run=dry_run,
                            hooks=hooks)
            return listing

    # --- upgrades -----------------------------------------------------------------------------------
    def upgrade(self, profile: 'str | CalicoProfile') -> CalicoProfile:
        """An in-place Calico upgrade to `profile`, keeping stored objects (SPEC-3.29-3.32 §3.2, §4.1, §11): policy
        names follow the new version's storage and read-back rules, the new version's built-in tiers appear (old
        ones linger), ClusterInformation reports the new version, and a move to v3-CRD mode copies every Calico object
        into the v3 CRDs (new UIDs, `default.` prefixes gone, crd.projectcalico.org and profiles dropped).
        Downgrades and leaving v3-CRD mode are refused (ValueError)."""
        new = parse_profile(profile)
        with self.lock:
            old = self.profile
            if (new.minor, new.patch) < (old.minor, old.patch) or (old.crd_mode and not new.crd_mode):
                raise ValueError(f'cannot go from Calico {old.name} to {new.name}: only upgrades are modelled')
            self._migrate_policy_names(old, new)
            self.profile = new
            self.registry = Registry(build_registry(self.calico_api, new))
            served = {(r.group, r.version, r.plural) for r in self.registry.resources}
            for key in [k for k in self.objects if k[:3] not in served]:
                del self.objects[key]
            if new.crd_mode and not old.crd_mode:   # the DatastoreMigration copies objects: new UIDs (§2.2)
                for key, obj in self.objects.items():
                    if key[0] == CALICO_GROUP:
                        self._new_metadata(obj)
                        obj['metadata']['resourceVersion'] = self.next_rv()
            if self.bootstrap:
                self._bootstrap_calico(new)
            self.next_rv()
            return new

    def _migrate_policy_names(self, old: CalicoProfile, new: CalicoProfile) -> None:
        """Re-key tiered policies for the new version and recompute the names reads show."""
        if not new.has_tiers:
            return
        moved: dict[ObjectKey, dict] = {}
        names: dict[ObjectKey, str] = {}
        for key in [k for k in self.objects if k[0] == CALICO_GROUP and self.objects[k]['kind'] in TIERED_KINDS]:
            obj = self.objects.pop(key)
            recorded = self.recorded_names.pop(key, None)
            if old.name_rules == NAMES_LABEL:              # 3.28 stored the name as given; Calico kept `default.<name>`
                backend, recorded = tiers.backend_name(key[4]), None
            elif old.name_rules in (NAMES_FREE, NAMES_K8S):
                backend, recorded = key[4], key[4]
            else:
                backend = key[4]
            if tiers.names_are_tiered(new):
                new_key = key[:4] + (backend,)
                obj['metadata']['name'] = tiers.visible_name(new, backend, recorded)
                if recorded is not None and new.records_policy_names:
                    names[new_key] = recorded
            else:                                          # 3.32: the migrator renames backend objects
                shown = recorded or (tiers.client_name(backend) if tiers.names_are_tiered(old) else backend)
                new_key = key[:4] + (shown,)
                obj['metadata']['name'] = shown
            moved[new_key] = obj
        self.objects.update(moved)
        self.recorded_names.update(names)

    def _bootstrap_calico(self, profile: CalicoProfile) -> None:
        """After an upgrade: new built-in tiers, ClusterInformation version, APIService, controller state."""
        existing = {(o.get('kind'), o['metadata']['name']) for k, o in self.objects.items() if k[0] == CALICO_GROUP}
        self.seed([m for m in calico_bootstrap(self) if m['kind'] == 'APIService' or
                   (m['kind'] == 'Tier' and ('Tier', m['metadata']['name']) not in existing)])
        for key, obj in self.objects.items():
            if key[2] == 'clusterinformations' and key[0] in (CALICO_GROUP, CALICO_CRD_GROUP):
                obj.setdefault('spec', {})['calicoVersion'] = profile.calico_version
            if profile.crd_mode and key[:3] == (CALICO_GROUP, 'v3', 'tiers'):
                self._prepare_store(self.registry.lookup(CALICO_GROUP, 'v3', 'tiers'), key, obj, key[4])
        if profile.crd_mode:
            self._reconcile_ippools()

    # --- out-of-band seeding (no admission) ---------------------------------------------------------
    def seed(self, manifests: list[dict]) -> list[dict]:
        out = []
        with self.lock:
            for manifest in manifests:
                if not isinstance(manifest, dict):
                    raise ValueError(f'not a manifest: {manifest!r}')
                rtype = self.registry.by_api_version_kind(manifest.get('apiVersion', ''), manifest.get('kind', ''))
                if rtype is None:
                    raise ValueError(f'unknown apiVersion/kind: {manifest.get("apiVersion")}/{manifest.get("kind")}')
                obj = self._decorate(rtype, copy.deepcopy(manifest))
                meta = obj.setdefault('metadata', {})
                if not meta.get('name'):
                    raise ValueError('seeded objects need metadata.name')
                if rtype.namespaced:
                    meta.setdefault('namespace', 'default')
                else:
                    meta.pop('namespace', None)
                request_name = meta['name']
                key = self.key(rtype, meta.get('namespace'), self._stored_name(rtype, request_name))
                old = self.objects.pop(key, None)
                self.recorded_names.pop(key, None)
                if old is not None and rtype.plural == 'services' and not rtype.group:
                    release_service(self.allocator, old)
                self._new_metadata(obj)
                self._type_create(rtype, obj, reserve=True)
                if rtype.group == CALICO_GROUP and not (self.profile.crd_mode and rtype.kind == 'Tier'):
                    calico_admission.apply_defaults(rtype.kind, obj, self.profile)
                self._prepare_store(rtype, key, obj, request_name)
                meta['resourceVersion'] = self.next_rv()
                self.objects[key] = obj
                self._remember_name(rtype, key, request_name)
                if rtype.group == CALICO_GROUP and rtype.kind == 'IPPool':
                    self._controllers(rtype)
                out.append(self.present(rtype, obj))
        return out

    def find_objects(self, kind: str | None = None, api_version: str | None = None,
                     namespace: str | None = None, raw: bool = False) -> list[dict]:
        """Stored objects as reads show them (`raw=True`: as stored, e.g. without server-filled fields)."""
        with self.lock:
            if kind:
                types = self.registry.find(kind, api_version)
                if not types:
                    raise ValueError(f'unknown kind {kind!r}')
                wanted = {(t.group, t.version, t.plural) for t in types}
            else:
                wanted = None
            found = []
            for key, obj in sorted(self.objects.items()):
                if (wanted is None or key[:3] in wanted) and (namespace is None or key[3] == namespace) \
                        and (api_version is None or obj.get('apiVersion') == api_version):
                    rtype = self.registry.lookup(*key[:3])
                    found.append(copy.deepcopy(obj) if raw or rtype is None else self.present(rtype, obj))
            return found


def _crd_mode() -> Any:
    """crd_mode.py (kube-apiserver's custom-resource write path), or None where it is absent."""
    try:
        from . import crd_mode
    except ImportError:
        return None
    return crd_mode


def _fill_default(obj: dict, path: tuple[str, ...], value: Any) -> None:
    """Set obj[path] to value when absent and every parent along the path exists (structural-schema defaulting)."""
    node: Any = obj
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    node.setdefault(path[-1], value)


def _spec_changed(old: dict, new: dict) -> bool:
    ignore = ('metadata', 'status', 'apiVersion', 'kind')
    return {k: v for k, v in old.items() if k not in ignore} != {k: v for k, v in new.items() if k not in ignore}


def default_objects(state: ClusterState) -> list[dict]:
    """What a fresh kubeadm-like cluster with Calico already holds."""
    objs: list[dict] = [{'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': n}}
                        for n in ('default', 'kube-system', 'kube-public', 'kube-node-lease', 'calico-system')]
    first_ip = state.allocator.next_free(state.allocator.primary_family)
    objs.append({'apiVersion': 'v1', 'kind': 'Service',
                 'metadata': {'name': 'kubernetes', 'namespace': 'default',
                              'labels': {'component': 'apiserver', 'provider': 'kubernetes'}},
                 'spec': {'clusterIP': first_ip, 'clusterIPs': [first_ip],
                          'ports': [{'name': 'https', 'port': 443, 'protocol': 'TCP', 'targetPort': 6443}]}})
    objs.append({'apiVersion': 'networking.k8s.io/v1', 'kind': 'ServiceCIDR', 'metadata': {'name': 'kubernetes'},
                 'spec': {'cidrs': list(state.service_cidrs)},
                 'status': {'conditions': [{'type': 'Ready', 'status': 'True', 'reason': '', 'message': '',
                                            'lastTransitionTime': now_rfc3339()}]}})
    return objs + calico_bootstrap(state)


def calico_bootstrap(state: ClusterState) -> list[dict]:
    """Calico's objects in a fresh cluster of the state's profile. The 3.28 objects come first, in their historical
    order; built-in tiers (3.29+) and the APIService follow."""
    profile = state.profile
    groups = (('projectcalico.org/v3',) if state.calico_api else ()) + \
        (() if profile.crd_mode else ('crd.projectcalico.org/v1',))
    objs: list[dict] = []
    for group in groups:
        objs += [
            {'apiVersion': group, 'kind': 'ClusterInformation', 'metadata': {'name': 'default'},
             'spec': {'calicoVersion': profile.calico_version, 'clusterType': 'k8s,bgp,kubeadm,kdd',
                      'datastoreReady': True, 'clusterGUID': uuid.uuid4().hex}},
            {'apiVersion': group, 'kind': 'FelixConfiguration', 'metadata': {'name': 'default'},
             'spec': {'bpfEnabled': False, 'logSeverityScreen': 'Info', 'reportingInterval': '0s'}},
            {'apiVersion': group, 'kind': 'KubeControllersConfiguration', 'metadata': {'name': 'default'},
             'spec': {'controllers': {'node': {'syncLabels': 'Enabled', 'hostEndpoint': {'autoCreate': 'Disabled'}}},
                      'healthChecks': 'Enabled', 'logSeverityScreen': 'Info', 'etcdV3CompactionPeriod': '10m0s'},
             'status': {'environmentVars': {'DATASTORE_TYPE': 'kubernetes', 'ENABLED_CONTROLLERS': 'node'},
                        'runningConfig': {'controllers': {'node': {'syncLabels': 'Enabled', 'leakGracePeriod': '15m0s',
                                                                   'hostEndpoint': {'autoCreate': 'Disabled'}}},
                                          'healthChecks': 'Enabled', 'logSeverityScreen': 'Info',
                                          'etcdV3CompactionPeriod': '10m0s'}}},
            {'apiVersion': group, 'kind': 'IPPool', 'metadata': {'name': 'default-ipv4-ippool'},
             'spec': {'cidr': '192.168.0.0/16', 'blockSize': 26, 'ipipMode': 'Always', 'natOutgoing': True,
                      'nodeSelector': 'all()', 'vxlanMode': 'Never', 'allowedUses': ['Workload', 'Tunnel']}},
        ]
    if state.calico_api:
        objs += tiers.builtin_tier_manifests(profile) + [apiservice_manifest(profile)]
    return objs


def apiservice_manifest(profile: CalicoProfile) -> dict:
    """APIService v3.projectcalico.org (SPEC-3.29-3.32 §2.2): backed by the `calico-api` Service in API-server mode;
    in v3-CRD mode kube-apiserver registers it itself, "Local" (no service), labelled automanaged. CRD-backed groups
    are synced continuously, so the label value is "true" (kube-aggregator's "onstart" is for built-in groups)."""
    stamp = now_rfc3339()
    if profile.crd_mode:
        return {'apiVersion': 'apiregistration.k8s.io/v1', 'kind': 'APIService',
                'metadata': {'name': 'v3.projectcalico.org',
                             'labels': {'kube-aggregator.kubernetes.io/automanaged': 'true'}},
                'spec': {'group': 'projectcalico.org', 'version': 'v3', 'groupPriorityMinimum': 1000,
                         'versionPriority': 100},
                'status': {'conditions': [{'type': 'Available', 'status': 'True', 'reason': 'Local',
                                           'message': 'Local APIServices are always available',
                                           'lastTransitionTime': stamp}]}}
    return {'apiVersion': 'apiregistration.k8s.io/v1', 'kind': 'APIService',
            'metadata': {'name': 'v3.projectcalico.org'},
            'spec': {'group': 'projectcalico.org', 'version': 'v3', 'groupPriorityMinimum': 1500,
                     'versionPriority': 200, 'insecureSkipTLSVerify': True,
                     'service': {'namespace': profile.apiserver_namespace, 'name': 'calico-api', 'port': 443}},
            'status': {'conditions': [{'type': 'Available', 'status': 'True', 'reason': 'Passed',
                                       'message': 'all checks passed', 'lastTransitionTime': stamp}]}}
