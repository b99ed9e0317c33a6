# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The connection options every module takes. The modules get them, at run time, from kubernetes.core's
    # AUTH_ARG_SPEC; they are documented here rather than through kubernetes.core.k8s_auth_options so that the
    # documentation renders where kubernetes.core is not installed (Galaxy and Automation Hub import a collection
    # alone). ansible-test sanity (validate-modules) checks these entries against kubernetes.core's argument spec.
    DOCUMENTATION = r"""
options:
  host:
    description:
      - URL of the Kubernetes API server.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token to authenticate to the API server. Never logged.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  kubeconfig:
    description:
      - Path to a kubeconfig file, several paths separated by V(:) (V(;) on Windows), or the kubeconfig itself as a
        mapping. Never logged.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable. When no connection option is given at
        all, the in-cluster service account is tried, then C(~/.kube/config).
    type: raw
  context:
    description:
      - Name of a context of the kubeconfig; the kubeconfig's current context by default.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  username:
    description:
      - User name for HTTP basic authentication, only for API servers configured to accept it.
      - Can also be set with the E(K8S_AUTH_USERNAME) environment variable.
    type: str
  password:
    description:
      - Password for HTTP basic authentication (see O(username)). Never logged.
      - Can also be set with the E(K8S_AUTH_PASSWORD) environment variable.
    type: str
  client_cert:
    description:
      - Path to a client certificate to authenticate with.
      - Can also be set with the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  ca_cert:
    description:
      - Path to the CA certificate(s) that signed the API server's certificate; give the full chain.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Whether to verify the API server's certificate.
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through. E(HTTP_PROXY) and E(HTTPS_PROXY) are not read.
      - Can also be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, addresses and networks not to reach through O(proxy), for example
        V(localhost,.example.com,10.0.0.0/8). E(NO_PROXY) is not read.
      - Can also be set with the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  proxy_headers:
    description:
      - Headers sent to the HTTP proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - V(user:password) for the proxy's basic authentication.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) environment variable.
        type: str
      basic_auth:
        description:
          - V(user:password) for a basic authentication header.
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) environment variable.
        type: str
      user_agent:
        description:
          - User agent to send, for example V(foo/1.0).
          - Can also be set with the E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) environment variable.
        type: str
  persist_config:
    description:
      - Whether to save refreshed tokens back into the kubeconfig file.
      - Can also be set with the E(K8S_AUTH_PERSIST_CONFIG) environment variable.
    type: bool
  impersonate_user:
    description:
      - User to impersonate.
      - Can also be set with the E(K8S_AUTH_IMPERSONATE_USER) environment variable.
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate.
      - Can also be set with the E(K8S_AUTH_IMPERSONATE_GROUPS) environment variable, comma separated.
    type: list
    elements: str
notes:
  - The connection options, their aliases and their environment variables are those of the kubernetes.core collection;
    whatever connects M(kubernetes.core.k8s) connects this module.
"""
