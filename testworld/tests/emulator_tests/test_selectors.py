import pytest

from clusteredge_testworld.emulator.label_selectors import SelectorSyntaxError, parse_label_selector
from clusteredge_testworld.emulator.selectors import SelectorError, parse_selector


@pytest.mark.parametrize('text,labels,expected', [
    ('', {}, True),
    ('all()', {'a': '1'}, True),
    ("k8s-role == 'node'", {'k8s-role': 'node'}, True),
    ("k8s-role == 'node'", {}, False),
    ('a != "x"', {}, True),
    ('a in {"x", "y"}', {'a': 'y'}, True),
    ('a not in {"x"}', {}, True),
    ('a notin {"x"}', {'a': 'x'}, False),
    ('has( a ) && !has(b)', {'a': '1'}, True),
    ('!!has(a)', {'a': '1'}, True),
    ('has(a) || has(b) && has(c)', {'a': '1'}, True),
    ('(has(a) || has(b)) && has(c)', {'a': '1'}, False),
    ('name starts with "web" && name ends with "-1"', {'name': 'web-1'}, True),
    ('name startswith "web"', {'name': 'web'}, True),
    ('name contains "eb"', {}, False),
    ('global()', {}, True),
    ('projectcalico.org/namespace == "x"', {'projectcalico.org/namespace': 'x'}, True),
])
def test_calico_selector_evaluation(text, labels, expected):
    assert parse_selector(text).evaluate(labels) is expected


@pytest.mark.parametrize('text', ['a = "x"', 'a == x', 'has(a) &', 'has(a) | has(b)', '(has(a)', 'has(a))',
                                  'a in {"x" "y"}', 'a == "x', 'in == "x"x', 'a', '!', 'has()', 'a == "x" has(b)',
                                  '#'])
def test_calico_selector_errors(text):
    with pytest.raises(SelectorError):
        parse_selector(text)


@pytest.mark.parametrize('text,labels,expected', [
    ('a=b', {'a': 'b'}, True), ('a==b', {'a': 'c'}, False), ('a!=b', {}, True), ('a', {'a': ''}, True),
    ('!a', {'a': 'x'}, False), ('a in (x, y),b', {'a': 'y', 'b': '1'}, True), ('a notin (x)', {}, True),
    ('a=', {'a': ''}, True), ('a>3', {'a': '4'}, True), ('example.com/a=b', {'example.com/a': 'b'}, True),
])
def test_label_selector(text, labels, expected):
    assert parse_label_selector(text)(labels) is expected


@pytest.mark.parametrize('text', ['a in (', 'a in ()', 'a,', 'bad key=x', 'a=b=c', 'a in x'])
def test_label_selector_errors(text):
    with pytest.raises(SelectorSyntaxError):
        parse_label_selector(text)
