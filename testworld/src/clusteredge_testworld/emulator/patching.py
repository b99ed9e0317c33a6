"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as the apiserver applies them."""
from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == '':
        return []
    if not path.startswith('/'):
        raise PatchError(f'invalid JSON pointer {path!r}')
    return [p.replace('~1', '/').replace('~0', '~') for p in path[1:].split('/')]


def _walk(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, dict):
            if part not in cur:
                raise PatchError(f'path element {part!r} not found')
            cur = cur[part]
        elif isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                raise PatchError(f'invalid list index {part!r}') from None
        else:
            raise PatchError(f'cannot descend into {type(cur).__name__} at {part!r}')
    return cur


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == '-':
            parent.append(value)
        else:
            idx = int(last)
            if not 0 <= idx <= len(parent):
                raise PatchError(f'index {idx} out of range')
            parent.insert(idx, value)
    else:
        raise PatchError('add target is not a container')
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise PatchError('cannot remove the document root')
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    try:
        if isinstance(parent, dict):
            return parent.pop(last)
        if isinstance(parent, list):
            return parent.pop(int(last))
    except (KeyError, ValueError, IndexError):
        pass
    raise PatchError(f'path {"/" + "/".join(parts)!r} does not exist')


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError('a JSON patch must be a list of operations')
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or 'op' not in op or 'path' not in op:
            raise PatchError(f'invalid operation {op!r}')
        kind, parts = op['op'], _pointer(op['path'])
        if kind == 'add':
            doc = _add(doc, parts, copy.deepcopy(op.get('value')))
        elif kind == 'remove':
            _remove(doc, parts)
        elif kind == 'replace':
            _remove(doc, parts) if parts else None
            doc = _add(doc, parts, copy.deepcopy(op.get('value')))
        elif kind == 'move':
            value = _remove(doc, _pointer(op['from']))
            doc = _add(doc, parts, value)
        elif kind == 'copy':
            doc = _add(doc, parts, copy.deepcopy(_walk(doc, _pointer(op['from']))))
        elif kind == 'test':
            if _walk(doc, parts) != op.get('value'):
                raise PatchError(f'test operation failed at {op["path"]!r}')
        else:
            raise PatchError(f'unknown operation {kind!r}')
    return doc
