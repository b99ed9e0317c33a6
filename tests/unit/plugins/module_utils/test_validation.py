"""Calico 3.28 field rules (SPEC §1.1-1.2, §3.2): one assertion per rule, valid and invalid side."""

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import validation as v


@pytest.mark.parametrize("name", ["node-1", "a", "node-1.eth0", "x" * 253, "1abc"])
def test_subdomain_accepts_dns1123_subdomains(name):
    assert v.check_subdomain(name) is None


@pytest.mark.parametrize("name", ["Node-1", "node_1", "-node", "node-", "node..eth0", "", "x" * 254, None])
def test_subdomain_rejects_uppercase_underscore_edges_and_length(name):
    assert v.check_subdomain(name)


def test_dns_label_rejects_dots_that_subdomains_allow():
    assert v.check_subdomain("allow.cluster-ips") is None
    assert "no dots" in v.check_dns_label("allow.cluster-ips")


@pytest.mark.parametrize("key", ["k8s-role", "example.com/role", "a", "A_b.c-D"])
def test_label_keys_accepts_qualified_names(key):
    assert v.check_label_key(key) is None


@pytest.mark.parametrize("key", ["/role", "Example.com/role", "role-", "x" * 64, "a/b/c", ""])
def test_label_keys_rejects_bad_prefix_or_name(key):
    assert v.check_label_key(key)


def test_label_values_may_be_empty_but_not_too_long_or_odd():
    assert v.check_label_value("") is None
    assert v.check_label_value("node") is None
    assert v.check_label_value("x" * 64)
    assert v.check_label_value("has space")
    assert v.check_label_value(3)


def test_annotations_size_limit_is_256_kib_for_keys_plus_values():
    assert v.check_annotations({"a": "x" * (256 * 1024 - 1)}) is None
    assert "256 KiB" in v.check_annotations({"a": "x" * (256 * 1024)})


@pytest.mark.parametrize("ifname", ["*", "eth0", "ens3f0.100", "a" * 15, "bond_0", "vxlan.calico"])
def test_interface_names_follow_linux_limit(ifname):
    assert v.check_interface_name(ifname) is None


@pytest.mark.parametrize("ifname,fragment", [("a" * 16, "16 characters"), ("eth 0", "not '*'"), ("eth0/1", "not '*'"), ("**", "not '*'")])
def test_interface_names_rejected(ifname, fragment):
    assert fragment in v.check_interface_name(ifname)


def test_expected_ips_are_addresses_never_networks():
    assert v.check_ip_address("10.0.0.1") is None
    assert v.check_ip_address("fd00::1") is None
    assert "CIDR" in v.check_ip_address("10.0.0.1/32")
    assert "not an IPv4 or IPv6" in v.check_ip_address("10.0.0.256")
    assert v.canonical_ip("FD00:0::1") == "fd00::1"


def test_cidrs_need_prefix_and_zero_host_bits():
    assert v.check_cidr("10.20.30.40/32") is None
    assert v.check_cidr("fd00::/64") is None
    assert "host bits" in v.check_cidr("10.1.2.3/24")
    assert "10.1.2.0/24" in v.check_cidr("10.1.2.3/24")
    assert "not a CIDR" in v.check_cidr("10.1.2.3")


@pytest.mark.parametrize("name", ["http", "metrics-1", "a1"])
def test_port_names_follow_iana_rules(name):
    assert v.check_port_name(name) is None


@pytest.mark.parametrize("name", ["HTTP", "123", "a--b", "-a", "a-", "x" * 16, "a_b"])
def test_port_names_rejected(name):
    assert v.check_port_name(name)


def test_port_numbers_and_protocols():
    assert v.check_port_number(1) is None and v.check_port_number(65535) is None
    assert v.check_port_number(0) and v.check_port_number(65536) and v.check_port_number(True)
    assert [v.canonical_port_protocol(p) for p in ("TCP", "UDP", "SCTP", "6", 17, "132")] == ["TCP", "UDP", "SCTP", "TCP", "UDP", "SCTP"]
    assert v.check_port_protocol("tcp")
    assert v.check_port_protocol("ICMP")
