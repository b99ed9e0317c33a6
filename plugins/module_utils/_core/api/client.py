# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one small layer that talks to the Kubernetes API.

Private to this collection: no stability promise. Authentication is kubernetes.core's
(`get_api_client`: the same options, K8S_AUTH_* variables, kubeconfig and in-cluster fallback).
On top of it: discovery of projectcalico.org/v3, bounded retries of transient failures, server-side
dry run for check mode, and plain-dict requests (no per-object model deserialisation).
"""

from __future__ import annotations

import json
import os
import random
import time

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client

    HAS_KUBERNETES_CORE = True
except ImportError:
    HAS_KUBERNETES_CORE = False

try:
    import yaml
except ImportError:  # PyYAML comes with ansible-core; without it the kubernetes client reports a bad kubeconfig itself
    yaml = None

try:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error
    from urllib3.exceptions import SSLError
except ImportError:
    # Reported at run time by the module (missing_required_lib); rendered needs neither.
    ApiException = Urllib3Error = SSLError = None

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api import profile as calico_profile
from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.resources import CALICO_API_VERSION, CLUSTERINFORMATIONS
from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import ApiError, CalicoModuleError, Conflict

TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
MAX_ATTEMPTS = 6
BACKOFF_START = 0.5
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 30.0
DRY_RUN = "All"
# Prefixed to the kubernetes client's User-Agent, so audit logs (and the test suite) tell this collection's requests apart.
USER_AGENT = "clusteredge.calico"
FORBIDDEN_HINT = ("; the service account needs the permissions of the clusteredge-calico ClusterRole "
                  "(docs/rbac.md in the clusteredge.calico collection)")


def forbidden_hint(message):
    """What to grant: a tiered-RBAC denial names a tier, and needs the tier permissions as well as the plain ones."""
    tier = calico_profile.CalicoProfile.tier_of_denial(message)
    if tier is None:
        return FORBIDDEN_HINT
    return ("; Calico's tiered RBAC also needs get on tiers %r and the same verb on the tier.<resource> pseudo-resource "
            "(tier.globalnetworkpolicies, tier.networkpolicies) with resourceNames [%s.*], as in the clusteredge-calico "
            "ClusterRole (docs/rbac.md in the clusteredge.calico collection)" % (tier, tier))


def _status_message(exc):
    """The API server's own words from a Status body, else the HTTP reason."""
    body = getattr(exc, "body", None)
    if body:
        try:
            status = json.loads(body)
            if isinstance(status, dict) and status.get("message"):
                return status["message"], status.get("reason")
        except (TypeError, ValueError):
            pass
    return getattr(exc, "reason", None) or str(exc), getattr(exc, "reason", None)


def _retry_after(exc):
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return min(float(value), RETRY_AFTER_MAX) if value is not None else None
    except (TypeError, ValueError):
        return None


def _is_tls_failure(exc):
    """urllib3 wraps a failed certificate check in MaxRetryError; it is not transient, retrying cannot fix it."""
    return SSLError is not None and (isinstance(exc, SSLError) or isinstance(getattr(exc, "reason", None), SSLError))


def _tls_problem(exc):
    return ("the API server's TLS certificate could not be verified (%s). Give the cluster's CA certificate (ca_cert, "
            "K8S_AUTH_SSL_CA_CERT or the kubeconfig's certificate-authority); validate_certs: false turns verification "
            "off, for test clusters only" % (getattr(exc, "reason", None) or exc))


def _transient_wait(exc, delay):
    """Seconds to wait before trying again (Retry-After of a 429, else `delay`); None when retrying cannot help."""
    if ApiException is not None and isinstance(exc, ApiException) and getattr(exc, "status", None) in TRANSIENT_STATUSES:
        wait = _retry_after(exc) if exc.status == 429 else None
        return wait if wait is not None else delay
    if Urllib3Error is not None and isinstance(exc, Urllib3Error) and not _is_tls_failure(exc):
        return delay
    return None


def _jitter(seconds):
    # Jitter keeps parallel runs (several AWX jobs, forks) from retrying in lockstep.
    return seconds * (0.8 + 0.4 * random.random())


def _setup_problem(exc, attempts):
    """The API server's own words: the dynamic client's errors also carry response headers and a Python traceback."""
    if ApiException is not None and isinstance(exc, ApiException) and getattr(exc, "status", None):
        message, _reason = _status_message(exc)
        return "API discovery answered %s %s (attempt %d)" % (exc.status, message, attempts)
    if _is_tls_failure(exc):
        return _tls_problem(exc)
    if Urllib3Error is not None and isinstance(exc, Urllib3Error):
        return "no answer from the API server during API discovery (attempt %d): %s" % (attempts, exc)
    return exc


def kubeconfig_problem(kubeconfig):
    """What is wrong with a kubeconfig path or mapping before the kubernetes client sees it, or None.

    The client would only say "Invalid kube-config file. No configuration found." for a missing file, and fail
    with "'str' object does not support item assignment" for a file that is YAML but not a mapping.
    """
    source = "given (kubeconfig, or K8S_AUTH_KUBECONFIG)"
    if isinstance(kubeconfig, dict):
        content, where = kubeconfig, "the kubeconfig " + source
    elif isinstance(kubeconfig, str) and kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.exists(path):
            return "the kubeconfig file %s does not exist" % source
        if yaml is None or not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                content = yaml.safe_load(handle)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            return "the kubeconfig file %s cannot be read as YAML: %s" % (kubeconfig, str(exc).splitlines()[0])
        where = "the kubeconfig file %s" % kubeconfig
    else:
        return None
    if not isinstance(content, dict):
        return ("%s is not a kubeconfig: it holds %s, not a mapping with clusters, contexts and users"
                % (where, "nothing" if content is None else "a %s" % type(content).__name__))
    return None


def _request_error(verb, path, exc, attempts):
    """The ApiError (Conflict for a 409) a failed request ends in, in the API server's words."""
    if isinstance(exc, ApiException):
        message, reason = _status_message(exc)
        error = Conflict if exc.status == 409 else ApiError
        hint = forbidden_hint(message) if calico_profile.CalicoProfile.is_forbidden(exc.status, reason) else ""
        return error("%s %s: %s %s%s" % (verb, path, exc.status, message, hint), status=exc.status or 0, reason=reason)
    if _is_tls_failure(exc):
        return ApiError("%s %s: %s" % (verb, path, _tls_problem(exc)))
    return ApiError("%s %s: no answer from the API server after %d attempts: %s" % (verb, path, attempts, exc))


class CalicoClient(object):
    """Plain-dict REST calls with retries; counts what it sends so results can report it."""

    def __init__(self, dynamic_client, dry_run=False, sleep=time.sleep, warn=None):
        self._client = dynamic_client
        self.dry_run = dry_run
        self._sleep = sleep
        self._warn = warn or (lambda msg: None)
        self.request_counts = {}
        self._dry_run_supported = True
        self.profile = None  # set by require_calico_api

    @classmethod
    def from_module(cls, module):
        """Build from a module's auth options and K8S_AUTH_* environment (kubernetes.core semantics)."""
        if not HAS_KUBERNETES_CORE:
            raise CalicoModuleError("This module needs the kubernetes.core collection (>=5.0.0): "
                                    "ansible-galaxy collection install kubernetes.core")
        module.requires("kubernetes", "24.2.0")
        problem = kubeconfig_problem(module.params.get("kubeconfig") or os.environ.get("K8S_AUTH_KUBECONFIG"))
        if problem:
            raise CalicoModuleError("Could not configure the Kubernetes API client: %s" % problem)
        delay = BACKOFF_START
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                k8s = get_api_client(module=module)
                break
            except Exception as exc:  # kubeconfig, certificate, in-cluster and discovery problems all land here
                # Building the client runs API discovery: a transient failure there is retried like any request.
                wait = _transient_wait(exc, delay)
                if wait is None or attempt == MAX_ATTEMPTS:
                    raise CalicoModuleError("Could not configure the Kubernetes API client: %s" % _setup_problem(exc, attempt)) from None
                time.sleep(_jitter(wait))
                delay = min(delay * 2, BACKOFF_MAX)
        api_client = getattr(k8s.client, "client", None)
        if api_client is not None and not str(api_client.user_agent).startswith(USER_AGENT):
            api_client.user_agent = "%s (%s) %s" % (USER_AGENT, str(module._name).rsplit(".", 1)[-1], api_client.user_agent)
        return cls(k8s.client, dry_run=module.check_mode, warn=module.warn)

    # -- transport ---------------------------------------------------------------------------

    def request(self, method, path, body=None, **params):
        """One REST call returning the decoded JSON; transient failures are retried with backoff."""
        verb = method.upper()
        self.request_counts[verb] = self.request_counts.get(verb, 0) + 1
        delay = BACKOFF_START
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._client.request(verb, path, body=body, serializer=lambda _client, data: data, **params)
            except (ApiException, Urllib3Error) as exc:
                wait = _transient_wait(exc, delay)
                if wait is not None and attempt < MAX_ATTEMPTS:
                    self._sleep(_jitter(wait))
                    delay = min(delay * 2, BACKOFF_MAX)
                    continue
                raise _request_error(verb, path, exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- discovery ---------------------------------------------------------------------------

    def require_calico_api(self, resources):
        """The CalicoProfile of the cluster; fails clearly unless projectcalico.org/v3 is served with `resources`.

        One discovery request and one read of ClusterInformation `default` per module call, whatever the number
        of objects: the version settles what discovery cannot (how policy names read back, support status).
        """
        path = "/apis/" + CALICO_API_VERSION
        try:
            discovered = self.request("GET", path)
        except ApiError as exc:
            if exc.status != 404:
                raise
            raise ApiError(
                "The Kubernetes API does not serve %s (GET %s answered 404). %s It never writes the internal "
                "crd.projectcalico.org/v1 resources." % (CALICO_API_VERSION, path, calico_profile.NOT_SERVED_HINT),
                status=404,
            )
        served = set(r.get("name") for r in (discovered or {}).get("resources") or [])
        missing = [r.plural for r in resources if r.plural not in served]
        if missing:
            raise ApiError("%s at %s does not serve %s; %s"
                           % (CALICO_API_VERSION, path, ", ".join(missing), calico_profile.MISSING_KINDS_HINT))
        info = self.get_optional(CLUSTERINFORMATIONS, "default")
        version = ((info or {}).get("spec") or {}).get("calicoVersion")
        self.profile = calico_profile.CalicoProfile(served, version)
        return self.profile

    def get_optional(self, resource, name, namespace=None):
        """An object that helps but is not required: None when it is missing or this identity may not read it."""
        try:
            return self.get(resource, name, namespace)
        except ApiError as exc:
            if calico_profile.CalicoProfile.is_forbidden(exc.status, exc.reason):
                return None
            raise

    # -- objects -----------------------------------------------------------------------------

    def _read(self, resource, obj):
        # Objects are handed on under the name they were created with, whatever the release reads them back as.
        return self.profile.normalise_read(obj, resource.kind) if self.profile is not None and obj else obj

    def list(self, resource, namespace=None, label_selector=None):
        params = {"label_selector": label_selector} if label_selector else {}
        reply = self.request("GET", resource.collection_path(namespace), **params)
        return [self._read(resource, obj) for obj in (reply or {}).get("items") or []]

    def get(self, resource, name, namespace=None):
        try:
            return self._read(resource, self.request("GET", resource.object_path(name, namespace)))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, resource, body):
        namespace = body["metadata"].get("namespace")
        return self._write("POST", resource.collection_path(namespace), body)

    def replace(self, resource, body):
        meta = body["metadata"]
        return self._write("PUT", resource.object_path(meta["name"], meta.get("namespace")), body)

    def merge_patch(self, resource, name, patch, namespace=None):
        """JSON merge patch (RFC 7386): only the fields given change, others are left alone."""
        return self._write("PATCH", resource.object_path(name, namespace), patch, content_type="application/merge-patch+json")

    def delete(self, resource, name, namespace=None):
        try:
            return self._write("DELETE", resource.object_path(name, namespace), None)
        except ApiError as exc:
            if exc.status == 404:
                return None  # already gone: the goal is reached
            raise

    def _write(self, method, path, body, **params):
        if not self.dry_run:
            return self.request(method, path, body=body, **params)
        if self._dry_run_supported:
            try:
                return self.request(method, path, body=body, dry_run=DRY_RUN, **params)
            except ApiError as exc:
                if exc.status != 400 or "dry" not in str(exc).lower():
                    raise
                self._dry_run_supported = False
                self._warn("The API server refused a server-side dry run (%s); check mode predicts the "
                           "result locally instead, without the server's validation." % exc)
        return body  # local prediction: what we would have sent
