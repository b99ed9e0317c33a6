"""Fault injection: 'the next N requests matching METHOD and PATH-regex answer S (or reset the connection)'.

`skip` lets the first matching requests through untouched, so a fault can hit any chosen step of a run; `hold`
keeps a request in flight for a while (a test can kill the client meanwhile); `after` applies the request before
failing its answer (the write happened, the client does not know); `another_writer` makes a 409 real: another
writer changes the stored object first (a new resourceVersion, `mutate` merged in) or, on a create, creates it.
"""
from __future__ import annotations

import dataclasses
import re
import threading


@dataclasses.dataclass
class FaultRule:
    method: str = '*'              # HTTP method or '*'
    path: str = '.*'               # regex, searched (re.search) in the request path
    status: int | None = 500       # 409, 429, 500, 503, ... (ignored when reset=True); None: answer normally
    times: int = 1                 # how many matching requests this rule answers
    retry_after: int | None = None  # seconds, sent as Retry-After (429/503)
    reset: bool = False            # close the connection without any response
    message: str | None = None
    skip: int = 0                  # matching requests let through before the rule applies
    hold: float = 0.0              # seconds to wait before answering (the request stays in flight)
    after: bool = False            # apply the request first, then answer the fault (or reset)
    another_writer: bool = False   # 409 only: another writer changes (or, on POST, creates) the object first
    mutate: dict | None = None     # merge patch that other writer applies (resourceVersion changes regardless)

    @classmethod
    def from_dict(cls, data: dict) -> 'FaultRule':
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f'unknown fault fields: {sorted(unknown)}')
        rule = cls(**data)
        re.compile(rule.path)
        return rule

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def matches(self, method: str, path: str) -> bool:
        return (self.method == '*' or self.method.upper() == method.upper()) and re.search(self.path, path) is not None


class FaultQueue:
    """Rules are consulted in insertion order; the first match is consumed once per request."""

    def __init__(self):
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.times > 0 and rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
        return None
