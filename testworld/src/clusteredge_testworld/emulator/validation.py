"""Kubernetes apimachinery name/label validators (k8s.io/apimachinery/pkg/util/validation), error-string style."""
from __future__ import annotations

import re

DNS1123_LABEL_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
DNS1123_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
QUALIFIED_NAME_PART_RE = re.compile(r'^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$')
LABEL_VALUE_RE = QUALIFIED_NAME_PART_RE
IANA_SVC_NAME_RE = re.compile(r'^[-a-z0-9]+$')


def dns1123_subdomain_error(value: str) -> str | None:
    if len(value) > 253:
        return 'must be no more than 253 characters'
    if not DNS1123_SUBDOMAIN_RE.match(value):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character")
    return None


def dns1123_label_error(value: str, max_len: int = 63) -> str | None:
    if len(value) > max_len:
        return f'must be no more than {max_len} characters'
    if not DNS1123_LABEL_RE.match(value):
        return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character")
    return None


def qualified_name_error(value: str) -> str | None:
    parts = value.split('/')
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return 'prefix part must be non-empty'
        err = dns1123_subdomain_error(prefix)
        if err:
            return f'prefix part {err}'
    else:
        return ("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character, with an optional DNS subdomain prefix and '/'")
    if not name:
        return 'name part must be non-empty'
    if len(name) > 63:
        return 'name part must be no more than 63 characters'
    if not QUALIFIED_NAME_PART_RE.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character")
    return None


def label_value_error(value: str) -> str | None:
    if value == '':
        return None
    if len(value) > 63:
        return 'must be no more than 63 characters'
    if not LABEL_VALUE_RE.match(value):
        return ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character")
    return None


def port_name_error(value: str) -> str | None:
    """IsValidPortName: IANA service name rules."""
    if not 1 <= len(value) <= 15:
        return 'must be no more than 15 characters'
    if not IANA_SVC_NAME_RE.match(value):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if '--' in value:
        return "must not contain consecutive hyphens"
    if not re.search(r'[a-z]', value):
        return "must contain at least one letter (a-z)"
    if value.startswith('-') or value.endswith('-'):
        return "must not begin or end with a hyphen"
    return None
