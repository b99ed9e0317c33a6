# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Calico 3.28 label selectors (SPEC §4): tokenizer, parser, evaluator and safe builders.

Private to this collection: no stability promise. Pure functions, no I/O. Mirrors
libcalico-go/lib/selector (tokenizer.go, parser/parser.go, parser/ast.go) at v3.28.5:
keywords only right after a label, no string escapes, leading '!' collapsed by parity,
empty selector == all(), set literals may be empty or end with a comma.
Error positions are 0-based character offsets into the selector text.
"""

from __future__ import annotations

import json
import string
from collections import namedtuple

MAX_LABEL_LENGTH = 512
_WHITESPACE = " \t"
_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_./-")
_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", "{": "LBRACE", "}": "RBRACE", ",": "COMMA"}
_DOUBLED = {"=": "EQ", "&": "AND", "|": "OR"}
# Operators that follow a label, in the order Calico's tokenizer tries them.
_LABEL_OPERATORS = (("CONTAINS", ("contains",)), ("STARTS_WITH", ("starts", "with")),
                    ("ENDS_WITH", ("ends", "with")), ("NOT_IN", ("not", "in")), ("IN", ("in",)))
_OP_TEXT = {"EQ": "==", "NE": "!=", "CONTAINS": "contains", "STARTS_WITH": "starts with",
            "ENDS_WITH": "ends with", "IN": "in", "NOT_IN": "not in", "AND": "&&", "OR": "||",
            "NOT": "!", "LPAREN": "(", "RPAREN": ")", "LBRACE": "{", "RBRACE": "}", "COMMA": ",",
            "ALL": "all()", "GLOBAL": "global()"}

_COMPARE_TESTS = {
    "EQ": lambda have, want: have == want,
    "NE": lambda have, want: have != want,
    "CONTAINS": lambda have, want: want in have,
    "STARTS_WITH": lambda have, want: have.startswith(want),
    "ENDS_WITH": lambda have, want: have.endswith(want),
}

Token = namedtuple("Token", "kind value pos")


class SelectorError(ValueError):
    """A selector that Calico would reject, or a value that cannot be written into one."""

    def __init__(self, reason, selector=None, position=None):
        self.reason = reason
        self.selector = selector
        self.position = position
        message = reason
        if selector is not None:
            message = "invalid selector %s: %s" % (json.dumps(selector, ensure_ascii=False), reason)
        if position is not None:
            message += " at position %d" % position
        super().__init__(message)


def _describe(token):
    if token.kind == "EOF":
        return "the end of the selector"
    if token.kind == "STRING":
        return "the string %s" % _render_string(token.value)
    if token.kind == "LABEL":
        return "the label %r" % token.value
    if token.kind == "HAS":
        return "has(%s)" % token.value
    return "'%s'" % _OP_TEXT[token.kind]


class _Tokenizer:
    """Splits selector text into tokens, exactly where Calico's tokenizer would."""

    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.tokens = []

    def _error(self, reason, pos):
        return SelectorError(reason, self.text, pos)

    def _skip_whitespace(self, pos):
        while pos < len(self.text) and self.text[pos] in _WHITESPACE:
            pos += 1
        return pos

    def _add(self, kind, start, end, value=None):
        self.tokens.append(Token(kind, value, start))
        self.pos = end

    def _identifier(self, start, what):
        end = start
        while end < len(self.text) and self.text[end] in _IDENT_CHARS:
            end += 1
        if end == start:
            char = self.text[start] if start < len(self.text) else None
            if char is None:
                raise self._error("expected %s but the selector ended" % what, start)
            if char.isspace():
                raise self._error("unexpected whitespace character %r (only space and tab are allowed)" % char, start)
            raise self._error("expected %s, found %r" % (what, char), start)
        if end - start > MAX_LABEL_LENGTH:
            raise self._error("label is longer than %d characters" % MAX_LABEL_LENGTH, start)
        return self.text[start:end], end

    def _cut_words(self, words):
        """Match words separated by optional whitespace, ending on a word boundary; return end or None."""
        pos = self.pos
        for index, word in enumerate(words):
            if index:
                pos = self._skip_whitespace(pos)
            if not self.text.startswith(word, pos):
                return None
            pos += len(word)
        if pos < len(self.text) and self.text[pos] in _IDENT_CHARS:
            return None
        return pos

    def _function(self, name, kind, start):
        pos = self._skip_whitespace(start + len(name) + 1)
        value = None
        if kind == "HAS":
            value, pos = self._identifier(pos, "a label name inside has()")
            pos = self._skip_whitespace(pos)
        if not self.text.startswith(")", pos):
            raise self._error("expected ')' to close %s(" % name, pos)
        self._add(kind, start, pos + 1, value)

    def tokenize(self):
        text = self.text
        while True:
            start = self.pos = self._skip_whitespace(self.pos)
            if start >= len(text):
                self._add("EOF", start, start)
                return self.tokens
            after_label = bool(self.tokens) and self.tokens[-1].kind == "LABEL"
            char = text[start]
            if char in _PUNCTUATION:
                self._add(_PUNCTUATION[char], start, start + 1)
            elif char in "\"'":
                end = text.find(char, start + 1)
                if end < 0:
                    raise self._error("unterminated string (selector strings have no escapes)", start)
                self._add("STRING", start, end + 1, text[start + 1:end])
            elif char == "!":
                is_ne = text.startswith("!=", start)
                self._add("NE" if is_ne else "NOT", start, start + (2 if is_ne else 1))
            elif char in _DOUBLED:
                if not text.startswith(char * 2, start):
                    raise self._error("expected '%s'%s" % (char * 2, " after label" if after_label and char == "=" else ""), start)
                self._add(_DOUBLED[char], start, start + 2)
            elif after_label:
                for kind, words in _LABEL_OPERATORS:
                    end = self._cut_words(words)
                    if end is not None:
                        self._add(kind, start, end)
                        break
                else:
                    raise self._error("expected an operator (==, !=, in, not in, contains, starts with, ends with) "
                                      "after label %r" % self.tokens[-1].value, start)
            elif text.startswith("has(", start):
                self._function("has", "HAS", start)
            elif text.startswith("all(", start):
                self._function("all", "ALL", start)
            elif text.startswith("global(", start):
                self._function("global", "GLOBAL", start)
            else:
                label, end = self._identifier(start, "a label, has(), all(), global(), '!' or '('")
                self._add("LABEL", start, end, label)


class _Node:
    children = ()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


class _All(_Node):
    def matches(self, labels, namespaced):
        return True

    def render(self):
        return "all()"


class _Global(_Node):
    def matches(self, labels, namespaced):
        return not namespaced

    def render(self):
        return "global()"


class _Has(_Node):
    def __init__(self, label):
        self.label = label

    def matches(self, labels, namespaced):
        return self.label in labels

    def render(self):
        return "has(%s)" % self.label


class _Compare(_Node):
    """label <op> "value"; only != is true when the label is absent (SPEC §4 Evaluation)."""

    def __init__(self, label, kind, value):
        self.label, self.kind, self.value = label, kind, value

    def matches(self, labels, namespaced):
        if self.label not in labels:
            return self.kind == "NE"
        return _COMPARE_TESTS[self.kind](labels[self.label], self.value)

    def render(self):
        return "%s %s %s" % (self.label, _OP_TEXT[self.kind], _render_string(self.value))


class _InSet(_Node):
    """label in {...} needs the label; label not in {...} is also true when it is absent."""

    def __init__(self, label, values, negated):
        self.label, self.values, self.negated = label, tuple(sorted(set(values))), negated

    def matches(self, labels, namespaced):
        if self.label not in labels:
            return self.negated
        return (labels[self.label] in self.values) != self.negated

    def render(self):
        members = ", ".join(_render_string(value) for value in self.values)
        return "%s %s {%s}" % (self.label, "not in" if self.negated else "in", members)


class _Not(_Node):
    def __init__(self, operand):
        self.children = (operand,)

    def matches(self, labels, namespaced):
        return not self.children[0].matches(labels, namespaced)

    def render(self):
        return "!" + self.children[0].render()


class _And(_Node):
    joiner = " && "

    def __init__(self, operands):
        self.children = tuple(operands)

    def matches(self, labels, namespaced):
        return all(child.matches(labels, namespaced) for child in self.children)

    def render(self):
        return "(%s)" % self.joiner.join(child.render() for child in self.children)


class _Or(_And):
    joiner = " || "

    def matches(self, labels, namespaced):
        return any(child.matches(labels, namespaced) for child in self.children)


def _render_string(value):
    """Calico's own rendering: double quotes unless the value contains one."""
    quote = "'" if '"' in value else '"'
    return quote + value + quote


class _Parser:
    """Recursive descent over the grammar in SPEC §4: || < && < prefix ! < atoms."""

    def __init__(self, text, tokens):
        self.text = text
        self.tokens = tokens
        self.index = 0

    def _peek(self):
        return self.tokens[self.index]

    def _next(self):
        token = self.tokens[self.index]
        if token.kind != "EOF":
            self.index += 1
        return token

    def _error(self, expected, token):
        return SelectorError("expected %s, found %s" % (expected, _describe(token)), self.text, token.pos)

    def parse(self):
        if self._peek().kind == "EOF":
            return _All()
        node = self._or_expr()
        if self._peek().kind != "EOF":
            raise self._error("'&&', '||' or the end of the selector", self._peek())
        return node

    def _binary(self, kind, operand, node_class):
        nodes = [operand()]
        while self._peek().kind == kind:
            self._next()
            nodes.append(operand())
        return nodes[0] if len(nodes) == 1 else node_class(nodes)

    def _or_expr(self):
        return self._binary("OR", self._and_expr, _Or)

    def _and_expr(self):
        return self._binary("AND", self._operation, _And)

    def _operation(self):
        negated = False
        while self._peek().kind == "NOT":
            self._next()
            negated = not negated
        token = self._next()
        if token.kind == "HAS":
            node = _Has(token.value)
        elif token.kind == "ALL":
            node = _All()
        elif token.kind == "GLOBAL":
            node = _Global()
        elif token.kind == "LABEL":
            node = self._comparison(token.value)
        elif token.kind == "LPAREN":
            node = self._or_expr()
            if self._peek().kind != "RPAREN":
                raise self._error("')' to close a '('", self._peek())
            self._next()
        else:
            raise self._error("a label, has(), all(), global(), '!' or '('", token)
        return _Not(node) if negated else node

    def _comparison(self, label):
        operator = self._next()
        if operator.kind in ("IN", "NOT_IN"):
            if self._peek().kind != "LBRACE":
                raise self._error("'{' to start a set after '%s'" % _OP_TEXT[operator.kind], self._peek())
            self._next()
            values = []
            while self._peek().kind == "STRING":
                values.append(self._next().value)
                if self._peek().kind != "COMMA":
                    break
                self._next()
            if self._peek().kind != "RBRACE":
                raise self._error("a quoted string, ',' or '}' in the set", self._peek())
            self._next()
            return _InSet(label, values, operator.kind == "NOT_IN")
        if operator.kind not in _COMPARE_TESTS:
            raise self._error("an operator after label %r" % label, operator)
        value = self._next()
        if value.kind != "STRING":
            raise self._error("a quoted string after '%s'" % _OP_TEXT[operator.kind], value)
        return _Compare(label, operator.kind, value.value)


class Selector:
    """A parsed selector: `text` is the original, str() the canonical (Calico String()) form."""

    def __init__(self, text, root):
        self.text = text
        self.root = root

    def matches(self, labels, namespaced=False):
        """Evaluate against a label map; `namespaced` is True for pods (WEPs), False for HEPs and network sets."""
        return self.root.matches(labels, namespaced)

    def uses_global(self):
        return any(isinstance(node, _Global) for node in self.root.walk())

    def __str__(self):
        return self.root.render()

    def __repr__(self):
        return "Selector(%r)" % self.text


def parse(text):
    """Parse selector text the way Calico 3.28 does, or raise SelectorError."""
    if not isinstance(text, str):
        raise SelectorError("a selector must be a string, not %s" % type(text).__name__)
    return Selector(text, _Parser(text, _Tokenizer(text).tokenize()).parse())


def check(text, allow_global=False):
    """Return a problem with a selector, or None.

    global() is valid only as a whole rule namespaceSelector (SPEC §3.2, §13 item 3): callers pass
    allow_global=True only there, and then global() must be the entire selector.
    """
    try:
        selector = parse(text)
    except SelectorError as exc:
        return str(exc)
    if selector.uses_global():
        quoted = json.dumps(text, ensure_ascii=False)
        if not allow_global:
            return "selector %s uses global(), which is only allowed as a rule's whole namespaceSelector" % quoted
        if not isinstance(selector.root, _Global):
            return "selector %s: global() must stand alone, not combined with other expressions" % quoted
    return None


def literal(value):
    """Quote a value for a selector: single quotes unless it contains one; there are no escapes."""
    if not isinstance(value, str):
        raise SelectorError("selector values must be strings, not %s" % type(value).__name__)
    if "'" not in value:
        return "'%s'" % value
    if '"' not in value:
        return '"%s"' % value
    raise SelectorError("value %r contains both ' and \" and cannot be written as a selector string" % value)


def _check_label(key):
    if not isinstance(key, str) or not key or len(key) > MAX_LABEL_LENGTH or not set(key) <= _IDENT_CHARS:
        raise SelectorError("%r cannot be written as a selector label (1-%d of letters, digits, '_', '.', '/', '-')"
                            % (key, MAX_LABEL_LENGTH))
    return key


def from_match_labels(labels):
    """Selector matching exactly what a Service's spec.selector map matches (keys sorted)."""
    if not isinstance(labels, dict):
        raise ValueError("a Service selector must be a mapping of label keys to values")
    if not labels:
        raise ValueError("a Service without a selector selects no pods; refusing to turn it into all()")
    return " && ".join("%s == %s" % (_check_label(key), literal(labels[key])) for key in sorted(labels))
