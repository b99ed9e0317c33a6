# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Field checks that mirror Calico 3.28's v3 validator (libcalico-go/lib/validator/v3).

Private to this collection: no stability promise. Pure functions, no I/O. Each check returns
None when the value is valid, or a short reason that callers prefix with the item and field.
"""

from __future__ import annotations

import ipaddress
import re

# DNS-1123 subdomain, as validateObjectMeta checks every v3 name (HEP names may contain dots).
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# DNS-1123 label: GlobalNetworkPolicy and NetworkPolicy names in 3.28 (no dots).
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes qualified-name "name" part and label values.
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_INTERFACE_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,15}$")
_PORT_NAME_CHARS_RE = re.compile(r"^[-a-z0-9]+$")
_HAS_LETTER_RE = re.compile(r"[a-z]")

PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")
_PROTOCOL_NUMBERS = {"6": "TCP", "17": "UDP", "132": "SCTP"}
ANNOTATIONS_MAX_BYTES = 256 * 1024


def check_subdomain(value):
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > 253:
        return "must be at most 253 characters (it has %d)" % len(value)
    if not _SUBDOMAIN_RE.match(value):
        return ("must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
                "starting and ending with a letter or digit")
    return None


def check_dns_label(value, max_len=63):
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > max_len:
        return "must be at most %d characters (it has %d)" % (max_len, len(value))
    if not _LABEL_RE.match(value):
        return ("must be a DNS-1123 label: lowercase letters, digits and '-', "
                "starting and ending with a letter or digit, no dots")
    return None


def check_label_key(key):
    if not isinstance(key, str) or not key:
        return "label key must be a non-empty string"
    prefix, sep, name = key.rpartition("/")
    if sep:
        if not prefix:
            return "label key %r has an empty prefix" % key
        problem = check_subdomain(prefix)
        if problem:
            return "label key %r has an invalid prefix: %s" % (key, problem)
    if not name or len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
        return ("label key %r: the name part must be 1-63 characters of letters, digits, '-', '_' and '.', "
                "starting and ending with a letter or digit" % key)
    return None


def check_label_value(value):
    if not isinstance(value, str):
        return "label value must be a string, got %s" % type(value).__name__
    if value == "":
        return None
    if len(value) > 63 or not _QUALIFIED_NAME_RE.match(value):
        return ("label value %r must be at most 63 characters of letters, digits, '-', '_' and '.', "
                "starting and ending with a letter or digit" % value)
    return None


def check_labels(labels):
    """Return the first problem with a label map, or None."""
    if not isinstance(labels, dict):
        return "must be a mapping of label keys to string values"
    for key, value in labels.items():
        problem = check_label_key(key) or check_label_value(value)
        if problem:
            return problem
    return None


def check_annotations(annotations):
    if not isinstance(annotations, dict):
        return "must be a mapping of annotation keys to string values"
    total = 0
    for key, value in annotations.items():
        problem = check_label_key(key)
        if problem:
            return problem.replace("label key", "annotation key", 1)
        if not isinstance(value, str):
            return "annotation %r must have a string value" % key
        total += len(key) + len(value)
    if total > ANNOTATIONS_MAX_BYTES:
        return "annotations total %d bytes, more than the 256 KiB Calico allows" % total
    return None


def check_interface_name(value):
    if value == "*":
        return None
    if not isinstance(value, str) or not _INTERFACE_RE.match(value):
        if isinstance(value, str) and len(value) > 15:
            return "%r is %d characters; Linux interface names have at most 15" % (value, len(value))
        return "%r is not '*' or a Linux interface name (1-15 of letters, digits, '_', '.', '-')" % (value,)
    return None


def check_ip_address(value):
    """An address, never a network: Calico's expectedIPs use the `ip` validator."""
    if not isinstance(value, str):
        return "must be an IP address string"
    if "/" in value:
        return "%r is a CIDR; an IP address without a prefix length is required" % value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "%r is not an IPv4 or IPv6 address" % value
    return None


def canonical_ip(value):
    return str(ipaddress.ip_address(value))


def check_cidr(value):
    """A network written as address/len with no host bits set (Calico's `net` validator)."""
    if not isinstance(value, str) or "/" not in value:
        return "%r is not a CIDR (write it as address/prefix-length)" % (value,)
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            return "%r has host bits set; did you mean %s?" % (value, ipaddress.ip_network(value, strict=False))
        return "%r is not a valid CIDR" % value
    return None


def check_port_name(value):
    """Kubernetes IsValidPortName (IANA service names)."""
    if not isinstance(value, str) or not value:
        return "port name must be a non-empty string"
    if len(value) > 15:
        return "port name %r is longer than 15 characters" % value
    if not _PORT_NAME_CHARS_RE.match(value):
        return "port name %r may contain only lowercase letters, digits and '-'" % value
    if not _HAS_LETTER_RE.search(value):
        return "port name %r must contain at least one letter" % value
    if "--" in value:
        return "port name %r must not contain '--'" % value
    if value.startswith("-") or value.endswith("-"):
        return "port name %r must not begin or end with '-'" % value
    return None


def check_port_number(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return "port %r must be an integer from 1 to 65535" % (value,)
    return None


def canonical_port_protocol(value):
    """Return TCP/UDP/SCTP for a protocol that supports ports, or None."""
    text = str(value)
    if text in PORT_PROTOCOLS:
        return text
    return _PROTOCOL_NUMBERS.get(text)


def check_port_protocol(value):
    if canonical_port_protocol(value) is None:
        return "protocol %r must be one of TCP, UDP or SCTP (exact case) or 6, 17 or 132" % (value,)
    return None
