"""Calico selector language: tokenizer, parser and evaluator (Calico 3.28 libcalico-go/lib/selector).

Parsing is strict so that the admission layer rejects what Calico would reject; the AST can also be
evaluated against a label dict, which tests use to check what a policy would select.
"""
from __future__ import annotations

import dataclasses
import re

LABEL_RE = re.compile(r'[a-zA-Z0-9_./-]{1,512}')
# Keywords are recognised only right after a label token.
KEYWORD_RES = [
    ('not_in', re.compile(r'not\s*in\b')),
    ('in', re.compile(r'in\b')),
    ('contains', re.compile(r'contains')),
    ('starts_with', re.compile(r'starts\s*with')),
    ('ends_with', re.compile(r'ends\s*with')),
]
HAS_RE = re.compile(r'has\([ \t]*([a-zA-Z0-9_./-]{1,512})[ \t]*\)')
ALL_RE = re.compile(r'all\([ \t]*\)')
GLOBAL_RE = re.compile(r'global\([ \t]*\)')


class SelectorError(ValueError):
    pass


@dataclasses.dataclass
class Token:
    kind: str
    value: str = ''


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in ' \t':
            i += 1
            continue
        two = text[i:i + 2]
        if two in ('==', '!=', '&&', '||'):
            tokens.append(Token(two))
            i += 2
            continue
        if c in '!(){},':
            tokens.append(Token(c))
            i += 1
            continue
        if c in '=&|':
            raise SelectorError(f'expected {c}{c} at position {i}')
        if c in '"\'':
            end = text.find(c, i + 1)
            if end < 0:
                raise SelectorError(f'unterminated string at position {i}')
            tokens.append(Token('string', text[i + 1:end]))
            i = end + 1
            continue
        rest = text[i:]
        if tokens and tokens[-1].kind == 'label':
            for kind, rx in KEYWORD_RES:
                m = rx.match(rest)
                if m:
                    tokens.append(Token(kind))
                    i += m.end()
                    break
            else:
                m = None
            if m:
                continue
        m = HAS_RE.match(rest)
        if m:
            tokens.append(Token('has', m.group(1)))
            i += m.end()
            continue
        m = ALL_RE.match(rest)
        if m:
            tokens.append(Token('all'))
            i += m.end()
            continue
        m = GLOBAL_RE.match(rest)
        if m:
            tokens.append(Token('global'))
            i += m.end()
            continue
        m = LABEL_RE.match(rest)
        if m:
            tokens.append(Token('label', m.group(0)))
            i += m.end()
            continue
        raise SelectorError(f'unexpected characters at position {i}: {rest[:10]!r}')
    tokens.append(Token('eof'))
    return tokens


# --- AST -------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Node:
    op: str                     # all, global, has, eq, ne, in, not_in, contains, starts_with, ends_with, not, and, or
    label: str = ''
    value: str = ''
    values: tuple[str, ...] = ()
    children: tuple['Node', ...] = ()

    def evaluate(self, labels: dict[str, str]) -> bool:
        op = self.op
        if op == 'all':
            return True
        if op == 'global':
            return 'projectcalico.org/namespace' not in labels
        if op == 'has':
            return self.label in labels
        if op == 'not':
            return not self.children[0].evaluate(labels)
        if op == 'and':
            return all(c.evaluate(labels) for c in self.children)
        if op == 'or':
            return any(c.evaluate(labels) for c in self.children)
        present = self.label in labels
        actual = labels.get(self.label)
        if op == 'eq':
            return present and actual == self.value
        if op == 'ne':
            return not present or actual != self.value
        if op == 'in':
            return present and actual in self.values
        if op == 'not_in':
            return not present or actual not in self.values
        if op == 'contains':
            return present and self.value in actual
        if op == 'starts_with':
            return present and actual.startswith(self.value)
        if op == 'ends_with':
            return present and actual.endswith(self.value)
        raise AssertionError(op)

    def uses_global(self) -> bool:
        return self.op == 'global' or any(c.uses_global() for c in self.children)


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self, kind: str | None = None) -> Token:
        tok = self.tokens[self.pos]
        if kind is not None and tok.kind != kind:
            raise SelectorError(f'expected {kind!r}, got {tok.kind!r}')
        self.pos += 1
        return tok

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.peek().kind == '||':
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Node('or', children=tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_operation()]
        while self.peek().kind == '&&':
            self.take()
            parts.append(self.parse_operation())
        return parts[0] if len(parts) == 1 else Node('and', children=tuple(parts))

    def parse_operation(self) -> Node:
        negations = 0
        while self.peek().kind == '!':
            self.take()
            negations += 1
        node = self.parse_atom()
        return Node('not', children=(node,)) if negations % 2 else node

    def parse_atom(self) -> Node:
        tok = self.take()
        if tok.kind == 'has':
            return Node('has', label=tok.value)
        if tok.kind == 'all':
            return Node('all')
        if tok.kind == 'global':
            return Node('global')
        if tok.kind == '(':
            inner = self.parse_or()
            self.take(')')
            return inner
        if tok.kind == 'label':
            op = self.take()
            if op.kind in ('==', '!=', 'contains', 'starts_with', 'ends_with'):
                value = self.take('string').value
                name = {'==': 'eq', '!=': 'ne'}.get(op.kind, op.kind)
                return Node(name, label=tok.value, value=value)
            if op.kind in ('in', 'not_in'):
                self.take('{')
                values: list[str] = []
                while self.peek().kind != '}':
                    values.append(self.take('string').value)
                    if self.peek().kind == ',':
                        self.take()
                    elif self.peek().kind != '}':
                        raise SelectorError("expected ',' or '}' in set literal")
                self.take('}')
                return Node(op.kind, label=tok.value, values=tuple(values))
            raise SelectorError(f'expected an operator after label {tok.value!r}, got {op.kind!r}')
        raise SelectorError(f'unexpected token {tok.kind!r}')


def parse_selector(text: str) -> Node:
    """Parse a Calico selector; an empty (or blank) selector means all()."""
    tokens = tokenize(text or '')
    if tokens[0].kind == 'eof':
        return Node('all')
    parser = _Parser(tokens)
    node = parser.parse_or()
    if parser.peek().kind != 'eof':
        raise SelectorError(f'unexpected token {parser.peek().kind!r} after expression')
    return node


def selector_error(text: str) -> str | None:
    try:
        parse_selector(text)
    except SelectorError as exc:
        return str(exc)
    return None
