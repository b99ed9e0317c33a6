"""Kubernetes labelSelector / fieldSelector query parameters (apimachinery `labels.Parse` syntax)."""
from __future__ import annotations

import re
from typing import Callable

from . import validation

Matcher = Callable[[dict], bool]

_TOKEN_RE = re.compile(r'\s*(==|!=|=|\(|\)|,|!|>|<|[^\s=!(),<>]+)')


class SelectorSyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or not m.group(1):
            raise SelectorSyntaxError(f'unable to parse requirement: {text[pos:]!r}')
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_label_selector(text: str) -> Matcher:
    """Return a predicate over a labels dict; raises SelectorSyntaxError like the apiserver's 400."""
    toks = _tokens(text or '')
    reqs: list[Matcher] = []
    i = 0

    def need(cond: bool, msg: str):
        if not cond:
            raise SelectorSyntaxError(f'unable to parse requirement: {msg}')

    def check_key(key: str):
        err = validation.qualified_name_error(key)
        need(err is None, f'invalid label key "{key}": {err}')

    def check_value(value: str):
        err = validation.label_value_error(value)
        need(err is None, f'invalid label value: "{value}": {err}')

    while i < len(toks):
        if toks[i] == '!':
            need(i + 1 < len(toks), 'missing key after !')
            key = toks[i + 1]
            check_key(key)
            reqs.append(lambda labels, k=key: k not in labels)
            i += 2
        else:
            key = toks[i]
            need(key not in '(),=!<>', f'unexpected {key!r}')
            check_key(key)
            i += 1
            op = toks[i] if i < len(toks) else ','
            if op == ',':
                reqs.append(lambda labels, k=key: k in labels)
            elif op in ('=', '==', '!='):
                i += 1
                # An empty value is legal ("a=") and shows up as the next token being ',' or the end.
                value = toks[i] if i < len(toks) and toks[i] != ',' else ''
                if value:
                    i += 1
                check_value(value)
                if op == '!=':
                    reqs.append(lambda labels, k=key, v=value: labels.get(k) != v)
                else:
                    reqs.append(lambda labels, k=key, v=value: k in labels and labels[k] == v)
            elif op in ('in', 'notin'):
                i += 1
                need(i < len(toks) and toks[i] == '(', f'expected ( after {op}')
                i += 1
                values: list[str] = []
                while i < len(toks) and toks[i] != ')':
                    if toks[i] == ',':
                        i += 1
                        continue
                    check_value(toks[i])
                    values.append(toks[i])
                    i += 1
                need(i < len(toks), 'expected )')
                i += 1
                need(bool(values), f'for {op} operator, values set can\'t be empty')
                if op == 'in':
                    reqs.append(lambda labels, k=key, vs=tuple(values): labels.get(k) in vs if k in labels else False)
                else:
                    reqs.append(lambda labels, k=key, vs=tuple(values): k not in labels or labels[k] not in vs)
            elif op in ('>', '<'):
                i += 1
                need(i < len(toks) and re.fullmatch(r'-?\d+', toks[i] or ''), 'expected integer after ' + op)
                bound = int(toks[i])
                i += 1

                def cmp(labels, k=key, b=bound, o=op):
                    try:
                        n = int(labels[k])
                    except (KeyError, ValueError):
                        return False
                    return n > b if o == '>' else n < b
                reqs.append(cmp)
            else:
                raise SelectorSyntaxError(f'unable to parse requirement: unexpected {op!r} after key {key!r}')
        if i < len(toks):
            need(toks[i] == ',', f'expected , got {toks[i]!r}')
            i += 1
            need(i < len(toks), 'trailing ,')
    return lambda labels: all(r(labels or {}) for r in reqs)


def parse_field_selector(text: str, allowed: Callable[[str], bool]) -> Callable[[dict], bool]:
    """`metadata.name=x,metadata.namespace!=y`; `allowed(field)` says which field paths the resource supports."""
    reqs = []
    for part in filter(None, (p.strip() for p in (text or '').split(','))):
        m = re.fullmatch(r'([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)', part)
        if not m:
            raise SelectorSyntaxError(f'invalid selector: \'{part}\'; can\'t understand \'{part}\'')
        field, op, value = m.groups()
        if not allowed(field):
            raise SelectorSyntaxError(f'field label not supported: {field}')

        def get(obj, path=field.split('.')):
            cur = obj
            for p in path:
                cur = cur.get(p) if isinstance(cur, dict) else None
            return '' if cur is None else str(cur)
        if op == '!=':
            reqs.append(lambda o, g=get, v=value: g(o) != v)
        else:
            reqs.append(lambda o, g=get, v=value: g(o) == v)
    return lambda obj: all(r(obj) for r in reqs)
