"""In-memory cluster state with kube-apiserver write semantics (metadata, optimistic concurrency, dry run)."""
from __future__ import annotations

import copy
import datetime
import itertools
import re
import threading
import uuid

from . import calico_admission, validation
from .errors import ApiError, already_exists, bad_request, conflict, invalid, not_found
from .label_selectors import SelectorSyntaxError, parse_field_selector, parse_label_selector
from .patching import PatchError, json_patch, merge_patch
from .resources import CALICO_GROUP, Registry, ResourceType, build_registry
from .services import ClusterIPAllocator, prepare_service_create, prepare_service_update, release_service

ObjectKey = tuple[str, str, str, str, str]   # group, version, plural, namespace ('' if cluster-scoped), name
DNS1035_LABEL_RE = re.compile(r'^[a-z]([-a-z0-9]*[a-z0-9])?$')
CORE_FIELD_SELECTORS = {'pods': {'spec.nodeName', 'status.phase', 'spec.serviceAccountName'},
                        'namespaces': {'status.phase'}}
CALICO_VERSION = 'v3.28.5'


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class ClusterState:
    def __init__(self, calico_api: bool = True, service_cidrs: tuple[str, ...] = ('10.96.0.0/12',),
                 bootstrap: bool = True):
        self.calico_api = calico_api
        self.registry = Registry(build_registry(calico_api))
        self.service_cidrs = tuple(service_cidrs)
        self.allocator = ClusterIPAllocator(self.service_cidrs)
        self.bootstrap = bootstrap
        self.lock = threading.RLock()
        self.objects: dict[ObjectKey, dict] = {}
        self._rv = itertools.count(1000)
        self.resource_version = '1000'
        self.reset()

    # --- bookkeeping --------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.objects.clear()
            self.allocator.reset()
            if self.bootstrap:
                self.seed(default_objects(self))

    def next_rv(self) -> str:
        self.resource_version = str(next(self._rv))
        return self.resource_version

    @staticmethod
    def key(rtype: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return (rtype.group, rtype.version, rtype.plural, namespace or '' if rtype.namespaced else '', name)

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
            obj = self.objects.get(self.key(rtype, namespace, name))
            if obj is None:
                raise not_found(rtype, name)
            return copy.deepcopy(obj)

    def list(self, rtype: ResourceType, namespace: str | None, query: dict) -> dict:
        try:
            label_match = parse_label_selector(query.get('labelSelector', ''))
            allowed = CORE_FIELD_SELECTORS.get(rtype.plural, set()) if not rtype.group else set()
            field_match = parse_field_selector(
                query.get('fieldSelector', ''),
                lambda f: f in ('metadata.name', 'metadata.namespace') or f in allowed)
        except SelectorSyntaxError as exc:
            raise bad_request(str(exc)) from None
        with self.lock:
            items = [copy.deepcopy(obj) for key, obj in sorted(self.objects.items())
                     if key[:3] == (rtype.group, rtype.version, rtype.plural)
                     and (not namespace or not rtype.namespaced or key[3] == namespace)
                     and label_match(obj.get('metadata', {}).get('labels') or {}) and field_match(obj)]
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

    def _admit(self, rtype: ResourceType, obj: dict, old: dict | None) -> None:
        """Generic ObjectMeta validation, then type-specific admission (Calico, Services)."""
        meta = obj['metadata']
        name = meta.get('name') or ''
        causes: list[dict] = []
        if rtype.group == CALICO_GROUP and rtype.kind in calico_admission.ADMITTED_KINDS:
            causes = calico_admission.admit(rtype.kind, obj)
        else:
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
        if causes:
            raise invalid(rtype, name, causes)

    def _require_namespace(self, rtype: ResourceType, namespace: str | None) -> None:
        if rtype.namespaced and self.bootstrap and namespace:
            ns_type = self.registry.lookup('', 'v1', 'namespaces')
            if self.key(ns_type, None, namespace) not in self.objects:
                raise not_found(ns_type, namespace)

    def create(self, rtype: ResourceType, namespace: str | None, body, dry_run: bool = False) -> dict:
        obj = self._check_body(rtype, body, namespace)
        meta = obj['metadata']
        if not meta.get('name') and meta.get('generateName'):
            meta['name'] = meta['generateName'] + uuid.uuid4().hex[:5]
        with self.lock:
            self._require_namespace(rtype, meta.get('namespace'))
            self._admit(rtype, obj, None)
            key = self.key(rtype, meta.get('namespace'), meta['name'])
            if key in self.objects:
                raise already_exists(rtype, meta['name'])
            self._new_metadata(obj)
            self._type_create(rtype, obj, reserve=not dry_run)
            if dry_run:
                meta.pop('resourceVersion', None)
                return obj
            meta['resourceVersion'] = self.next_rv()
            self.objects[key] = obj
            return copy.deepcopy(obj)

    def _type_create(self, rtype: ResourceType, obj: dict, reserve: bool) -> None:
        if rtype.group == '' and rtype.plural == 'services':
            prepare_service_create(self.allocator, obj, reserve=reserve)
        elif rtype.group == '' and rtype.plural == 'namespaces':
            obj['metadata'].setdefault('labels', {})['kubernetes.io/metadata.name'] = obj['metadata']['name']
            obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
            obj['status'] = {'phase': 'Active'}

    def replace(self, rtype: ResourceType, namespace: str | None, name: str, body, dry_run: bool = False,
                subresource: str | None = None, _from_patch: bool = False) -> dict:
        obj = self._check_body(rtype, body, namespace, name)
        with self.lock:
            key = self.key(rtype, namespace, name)
            old = self.objects.get(key)
            if old is None:
                raise not_found(rtype, name)
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
                self._admit(rtype, obj, old)
                if rtype.group == '' and rtype.plural == 'services':
                    prepare_service_update(old, obj)
            meta, old_meta = obj['metadata'], old['metadata']
            for kept in ('uid', 'creationTimestamp', 'generation'):
                meta[kept] = old_meta.get(kept)
            if rtype.group == '' and rtype.plural == 'namespaces':
                meta.setdefault('labels', {})['kubernetes.io/metadata.name'] = name
                obj['status'] = old.get('status')
            if _spec_changed(old, obj):
                meta['generation'] = (old_meta.get('generation') or 1) + 1
            if obj == old:  # no-op updates keep the resourceVersion, like the real apiserver
                return copy.deepcopy(old)
            if dry_run:
                return obj
            meta['resourceVersion'] = self.next_rv()
            self.objects[key] = obj
            return copy.deepcopy(obj)

    def patch(self, rtype: ResourceType, namespace: str | None, name: str, patch_body, content_type: str,
              dry_run: bool = False, subresource: str | None = None, field_manager: str | None = None) -> tuple[int, dict]:
        """Returns (HTTP status, object): 201 when server-side apply created the object."""
        ctype = (content_type or '').split(';')[0].strip().lower()
        with self.lock:
            key = self.key(rtype, namespace, name)
            old = self.objects.get(key)
            if ctype == 'application/apply-patch+yaml':
                if not field_manager:
                    raise bad_request('PATCH request with apply content type requires fieldManager')
                if not isinstance(patch_body, dict):
                    raise bad_request('apply patch must be an object')
                if old is None:
                    if subresource:
                        raise not_found(rtype, name)
                    body = self._check_body(rtype, patch_body, namespace, name)
                    return 201, self.create(rtype, namespace, body, dry_run=dry_run)
                new = merge_patch(old, patch_body)
            else:
                if old is None:
                    raise not_found(rtype, name)
                try:
                    if ctype == 'application/json-patch+json':
                        new = json_patch(old, patch_body)
                    elif ctype in ('application/merge-patch+json', 'application/strategic-merge-patch+json'):
                        if not isinstance(patch_body, dict):
                            raise PatchError('a merge patch must be a JSON object')
                        new = merge_patch(old, patch_body)
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
                                     _from_patch=True)

    def delete(self, rtype: ResourceType, namespace: str | None, name: str, options: dict | None = None,
               dry_run: bool = False) -> dict:
        options = options or {}
        with self.lock:
            key = self.key(rtype, namespace, name)
            obj = self.objects.get(key)
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
            result = copy.deepcopy(obj)
            if dry_run:
                return result
            del self.objects[key]
            if rtype.group == '' and rtype.plural == 'services':
                release_service(self.allocator, obj)
            if rtype.group == '' and rtype.plural == 'namespaces':
                for other in [k for k in self.objects if k[3] == name]:
                    if other[:3] == ('', 'v1', 'services'):
                        release_service(self.allocator, self.objects[other])
                    del self.objects[other]
                result.setdefault('status', {})['phase'] = 'Terminating'
            self.next_rv()
            return result

    def delete_collection(self, rtype: ResourceType, namespace: str | None, query: dict, dry_run: bool) -> dict:
        with self.lock:
            listing = self.list(rtype, namespace, query)
            for item in listing['items']:
                self.delete(rtype, item['metadata'].get('namespace'), item['metadata']['name'], dry_run=dry_run)
            return listing

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
                key = self.key(rtype, meta.get('namespace'), meta['name'])
                old = self.objects.pop(key, None)
                if old is not None and rtype.plural == 'services' and not rtype.group:
                    release_service(self.allocator, old)
                self._new_metadata(obj)
                self._type_create(rtype, obj, reserve=True)
                if rtype.group == CALICO_GROUP:
                    calico_admission.apply_defaults(rtype.kind, obj)
                meta['resourceVersion'] = self.next_rv()
                self.objects[key] = obj
                out.append(copy.deepcopy(obj))
        return out

    def find_objects(self, kind: str | None = None, api_version: str | None = None,
                     namespace: str | None = None) -> list[dict]:
        with self.lock:
            if kind:
                types = self.registry.find(kind, api_version)
                if not types:
                    raise ValueError(f'unknown kind {kind!r}')
                wanted = {(t.group, t.version, t.plural) for t in types}
            else:
                wanted = None
            return [copy.deepcopy(obj) for key, obj in sorted(self.objects.items())
                    if (wanted is None or key[:3] in wanted)
                    and (api_version is None or obj.get('apiVersion') == api_version)
                    and (namespace is None or key[3] == namespace)]


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
    for group in (('projectcalico.org/v3',) if state.calico_api else ()) + ('crd.projectcalico.org/v1',):
        objs += [
            {'apiVersion': group, 'kind': 'ClusterInformation', 'metadata': {'name': 'default'},
             'spec': {'calicoVersion': CALICO_VERSION, 'clusterType': 'k8s,bgp,kubeadm,kdd',
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
    return objs
