"""Calico 3.28 selector grammar and evaluation (SPEC §4, §3.2, §13 items 2-3)."""

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as sel


def matches(text, labels, namespaced=False):
    return sel.parse(text).matches(labels, namespaced=namespaced)


# --- SPEC §4 Tokens -------------------------------------------------------------------------
def test_label_identifier_characters_and_length_limit():
    """SPEC §4: labels are [a-zA-Z0-9_./-]{1,512} and are not quoted."""
    assert matches("example.com/Role_1-x == 'a'", {"example.com/Role_1-x": "a"})
    assert sel.parse("l" * 512 + " == 'a'")
    with pytest.raises(sel.SelectorError, match="longer than 512"):
        sel.parse("l" * 513 + " == 'a'")
    with pytest.raises(sel.SelectorError, match="position 0"):
        sel.parse("'k8s-role' == 'node'")  # a quoted label is a string, not a label


@pytest.mark.parametrize("text", ["role == 'node'", 'role == "node"'])
def test_both_quote_styles(text):
    """SPEC §4: string literals use '...' or "..."."""
    assert str(sel.parse(text)) == 'role == "node"'


def test_no_escapes_in_strings():
    """SPEC §4: no escapes; a string holds the other quote character, and a backslash is literal."""
    assert matches('a == "it\'s"', {"a": "it's"})
    assert matches("a == 'x\\'", {"a": "x\\"})
    with pytest.raises(sel.SelectorError):
        sel.parse("a == 'it\\'s'")  # the backslash does not escape: 's' follows the string


def test_unterminated_string():
    """SPEC §4: an unterminated string is an error."""
    with pytest.raises(sel.SelectorError, match="unterminated string.* at position 5"):
        sel.parse("a == 'x")


@pytest.mark.parametrize("text, expected", [
    ("k8s-role = 'node'", "expected '==' after label at position 9"),
    ("has(a) & has(b)", "expected '&&' at position 7"),
    ("has(a) | has(b)", "expected '||' at position 7"),
])
def test_lone_operator_characters_are_errors(text, expected):
    """SPEC §4: a lone '=', '&' or '|' is an error."""
    with pytest.raises(sel.SelectorError) as info:
        sel.parse(text)
    assert str(info.value) == 'invalid selector "%s": %s' % (text, expected)


def test_keywords_only_right_after_a_label():
    """SPEC §4: 'in', 'contains' etc. are keywords only after a label; elsewhere they are labels."""
    assert matches("in == 'x'", {"in": "x"})
    assert matches("contains in {'y'}", {"contains": "y"})
    with pytest.raises(sel.SelectorError):
        sel.parse("a == 'x' in {'x'}")
    with pytest.raises(sel.SelectorError, match="expected an operator"):
        sel.parse("a inx {'x'}")  # the keyword must end on a word boundary


@pytest.mark.parametrize("text", ["a not in {'x'}", "a notin {'x'}", "a not \t in{'x'}"])
def test_not_in_with_and_without_space(text):
    """SPEC §4: not\\s*in\\b."""
    assert str(sel.parse(text)) == 'a not in {"x"}'


@pytest.mark.parametrize("text, canonical", [
    ("a starts with 'x'", 'a starts with "x"'),
    ("a startswith 'x'", 'a starts with "x"'),
    ("a starts \t with 'x'", 'a starts with "x"'),
    ("a ends with 'x'", 'a ends with "x"'),
    ("a endswith 'x'", 'a ends with "x"'),
    ("a contains 'x'", 'a contains "x"'),
])
def test_starts_with_ends_with_spacing(text, canonical):
    """SPEC §4: starts\\s*with, ends\\s*with."""
    assert str(sel.parse(text)) == canonical


def test_starts_without_with_is_an_error():
    """SPEC §4: 'starts' alone is no operator."""
    with pytest.raises(sel.SelectorError, match="after label 'a'"):
        sel.parse("a starts 'x'")


def test_functions_and_whitespace_inside_parentheses():
    """SPEC §4: has(<label>) with whitespace inside the parentheses, all(), global()."""
    assert str(sel.parse("has( x )")) == "has(x)"
    assert str(sel.parse("has(\tx)")) == "has(x)"
    assert str(sel.parse("all( )")) == "all()"
    assert str(sel.parse("global()")) == "global()"
    with pytest.raises(sel.SelectorError, match="close has"):
        sel.parse("has(a b)")
    with pytest.raises(sel.SelectorError, match="label name inside has"):
        sel.parse("has()")
    with pytest.raises(sel.SelectorError):
        sel.parse("has (x)")  # 'has' followed by a space is a label


@pytest.mark.parametrize("text", ["a == 'x'\n", "a == 'x' &&\nb == 'y'", "a == 'x'\r"])
def test_only_space_and_tab_are_whitespace(text):
    """SPEC §4: whitespace is space or tab; a newline (YAML literal block) is an error."""
    with pytest.raises(sel.SelectorError, match="only space and tab"):
        sel.parse(text)
    assert sel.parse(" \ta == 'x'\t ")


# --- SPEC §4 Grammar ------------------------------------------------------------------------
def test_not_collapses_by_parity():
    """SPEC §4: several leading '!' collapse by parity."""
    assert str(sel.parse("!!has(a)")) == "has(a)"
    assert str(sel.parse("!!!has(a)")) == "!has(a)"
    assert matches("!!has(a)", {"a": ""})
    assert not matches("!!!has(a)", {"a": ""})


def test_precedence_or_lower_than_and():
    """SPEC §4: || < && < prefix ! < parentheses."""
    text = "a == 'x' || b == 'y' && c == 'z'"
    assert str(sel.parse(text)) == '(a == "x" || (b == "y" && c == "z"))'
    assert matches(text, {"a": "x"})
    assert not matches(text, {"b": "y"})
    assert not matches("(a == 'x' || b == 'y') && c == 'z'", {"a": "x"})
    assert matches("!has(a) && has(b)", {"b": "1"})  # ! binds tighter than &&
    assert not matches("!(has(a) || has(b))", {"b": "1"})


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_selector_is_all(text):
    """SPEC §4: an empty selector == all()."""
    assert str(sel.parse(text)) == "all()"
    assert matches(text, {})


def test_set_literals_may_be_empty_or_end_with_a_comma():
    """SPEC §4: empty sets and a trailing comma are accepted (parser property)."""
    assert not matches("a in {}", {"a": "x"})
    assert matches("a not in {}", {"a": "x"})
    assert str(sel.parse("a in {'y', 'x', 'x',}")) == 'a in {"x", "y"}'
    with pytest.raises(sel.SelectorError):
        sel.parse("a in {,}")
    with pytest.raises(sel.SelectorError):
        sel.parse("a in {'x' 'y'}")


@pytest.mark.parametrize("text", ["a", "a ==", "a == b", "(has(a)", "has(a))", "!", "()", "has(a) has(b)", "a == 'x' &&"])
def test_malformed_selectors(text):
    """SPEC §4 grammar: every operation is complete and parentheses balance."""
    assert sel.check(text).startswith('invalid selector "')


# --- SPEC §4 Evaluation ---------------------------------------------------------------------
def test_eq_and_ne_on_absent_labels():
    """SPEC §4: == needs the label; != is also true when the label is absent."""
    assert not matches("a == 'x'", {})
    assert matches("a != 'x'", {})
    assert not matches("a != 'x'", {"a": "x"})
    assert matches("a != 'x'", {"a": "y"})


def test_in_and_not_in_on_absent_labels():
    """SPEC §4: in needs the label; not in is also true when the label is absent."""
    assert not matches("a in {'x'}", {})
    assert matches("a not in {'x'}", {})
    assert not matches("a not in {'x'}", {"a": "x"})


@pytest.mark.parametrize("op", ["contains", "starts with", "ends with"])
def test_string_operators_need_the_label(op):
    """SPEC §4: contains, starts with and ends with need the label present (even for '')."""
    assert not matches("a %s ''" % op, {})
    assert matches("a %s ''" % op, {"a": "anything"})


def test_string_operators_values():
    """SPEC §4 Evaluation."""
    labels = {"a": "svc-alpha"}
    assert matches("a contains 'alp'", labels)
    assert matches("a starts with 'svc-'", labels)
    assert matches("a ends with 'pha'", labels)
    assert not matches("a ends with 'svc'", labels)


def test_has_and_all():
    """SPEC §4: has(L) means present (any value); all() is true."""
    assert matches("has(a)", {"a": ""})
    assert not matches("has(a)", {"b": "x"})
    assert matches("all()", {}, namespaced=True)


def test_global_depends_on_namespaced_flag():
    """SPEC §4, §3.2: global() selects only non-namespaced resources (HEPs, GlobalNetworkSets)."""
    assert matches("global()", {})
    assert not matches("global()", {}, namespaced=True)


def test_negated_namespace_selector_is_true_for_heps():
    """SPEC §13 item 2: a negated selector is true for HEPs (which lack the label)."""
    assert matches("!has(team)", {})
    assert matches("team != 'a'", {})


# --- check() and global() (SPEC §3.2, §13 item 3) -------------------------------------------
def test_check_rejects_global_unless_allowed():
    """SPEC §3.2: global() never in a policy selector; only as a whole namespaceSelector."""
    assert "global()" in sel.check("global()")
    assert "global()" in sel.check("has(a) && global()")
    assert sel.check("global()", allow_global=True) is None
    assert sel.check(" global( ) ", allow_global=True) is None
    assert "stand alone" in sel.check("global() || has(a)", allow_global=True)
    assert "stand alone" in sel.check("!global()", allow_global=True)
    assert sel.check("has(a) && a != 'x'") is None
    assert "string" in sel.check(42)


# --- Real selectors ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, labels, expected", [
    ("k8s-role == 'node'", {"k8s-role": "node"}, True),
    ("k8s-role == 'node'", {"k8s-role": "master"}, False),
    ("k8s-svc == 'svc-a'", {"k8s-svc": "svc-a"}, True),
    ("has(clusteredge.calico/owner) && clusteredge.calico/owner == 'team-a'", {"clusteredge.calico/owner": "team-a"}, True),
    ("has(clusteredge.calico/owner) && clusteredge.calico/owner == 'team-a'", {}, False),
    ("projectcalico.org/namespace in {'a','b'}", {"projectcalico.org/namespace": "b"}, True),
    ("projectcalico.org/namespace in {'a','b'}", {}, False),
    ("!has(projectcalico.org/namespace)", {"k8s-role": "node"}, True),
])
def test_guide_and_typical_selectors(text, labels, expected):
    """SPEC §4 on the selectors of the Calico guide and of this collection."""
    assert sel.check(text) is None
    assert matches(text, labels) is expected


def test_selector_keeps_original_text():
    """SPEC §4 (parser/ast.go String()): canonical rendering uses double quotes and re-parses to itself."""
    selector = sel.parse("k8s-role=='node'")
    assert selector.text == "k8s-role=='node'"
    assert str(selector) == 'k8s-role == "node"'
    assert str(sel.parse(str(selector))) == str(selector)


# --- Builders ---------------------------------------------------------------------------------
def test_literal_quote_choice_and_failure():
    """SPEC §4: no escapes, so pick the quote the value does not contain."""
    assert sel.literal("node") == "'node'"
    assert sel.literal("it's") == '"it\'s"'
    assert sel.literal('say "hi"') == "'say \"hi\"'"
    with pytest.raises(sel.SelectorError):
        sel.literal("both ' and \"")
    assert matches("a == " + sel.literal("it's"), {"a": "it's"})


def test_from_match_labels_is_sorted_and_deterministic():
    """SPEC §4: label == literal joined by &&, keys sorted so the generated policy never churns."""
    service_selector = {"tier": "web", "app": "shop"}
    text = sel.from_match_labels(service_selector)
    assert text == "app == 'shop' && tier == 'web'"
    assert text == sel.from_match_labels(dict(reversed(list(service_selector.items()))))


def test_from_match_labels_round_trip():
    """SPEC §4 Evaluation: == needs the label present with that exact value (also for '')."""
    service_selector = {"app": "shop", "example.com/tier": "web", "empty": ""}
    selector = sel.parse(sel.from_match_labels(service_selector))
    assert selector.matches(service_selector)
    assert selector.matches(dict(service_selector, extra="x"))
    assert not selector.matches(dict(service_selector, app="other"))
    assert not selector.matches({k: v for k, v in service_selector.items() if k != "empty"})


def test_from_match_labels_refuses_empty_and_unwritable():
    """SPEC §4: empty selector == all(), so an empty Service selector must not become one."""
    with pytest.raises(ValueError, match="all()"):
        sel.from_match_labels({})
    with pytest.raises(sel.SelectorError):
        sel.from_match_labels({"a b": "x"})
    with pytest.raises(sel.SelectorError):
        sel.from_match_labels({"a": "'\""})
