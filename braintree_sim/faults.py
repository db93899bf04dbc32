"""Fault injection rules: latency, error statuses, hangs and "commit then drop".

A rule set is plain JSON (see README) so tests can replace it at run time through
``POST /__sim__/faults``. Rules are evaluated in order for every gateway request (never for
``/__sim__`` control requests); every matching latency rule adds its delay, and the first
matching terminal rule (``error``, ``hang``, ``drop``) decides the request's fate.
"""

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Optional

KINDS = ("latency", "error", "hang", "drop")
ERROR_STATUSES = (429, 500, 502, 503, 504)


class InvalidFaults(ValueError):
    """The fault JSON does not follow the documented schema."""


@dataclass
class Rule:
    """One fault; ``paths`` are globs relative to ``/merchants/{id}``, e.g. ``/transactions``."""

    kind: str
    rate: float = 1.0
    count: Optional[int] = None
    methods: tuple = ()
    paths: tuple = ()
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    status: int = 503
    seconds: float = 30.0

    def matches(self, method, path):
        """True if the rule targets this verb and merchant-relative path."""
        if self.methods and method not in self.methods:
            return False
        return not self.paths or any(fnmatch.fnmatchcase(path, glob) for glob in self.paths)

    def as_json(self):
        """The rule as it would be posted, for ``GET /__sim__/faults``."""
        doc = {"kind": self.kind, "rate": self.rate, "count": self.count,
               "methods": list(self.methods), "paths": list(self.paths)}
        if self.kind == "latency":
            doc.update(latency_ms=self.latency_ms, jitter_ms=self.jitter_ms)
        elif self.kind == "error":
            doc["status"] = self.status
        elif self.kind == "hang":
            doc["seconds"] = self.seconds
        return doc


def parse_rule(doc):
    """Validate one rule mapping and build a :class:`Rule`."""
    if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
        raise InvalidFaults(f"each rule needs a kind in {KINDS}: {doc!r}")
    try:
        rule = Rule(
            kind=doc["kind"],
            rate=float(doc.get("rate", 1.0)),
            count=None if doc.get("count") is None else int(doc["count"]),
            methods=tuple(method.upper() for method in doc.get("methods", ())),
            paths=tuple(doc.get("paths", ())),
            latency_ms=float(doc.get("latency_ms", 0)),
            jitter_ms=float(doc.get("jitter_ms", 0)),
            status=int(doc.get("status", 503)),
            seconds=float(doc.get("seconds", 30)),
        )
    except (TypeError, ValueError) as exc:
        raise InvalidFaults(f"bad rule {doc!r}: {exc}") from exc
    if not 0.0 <= rule.rate <= 1.0:
        raise InvalidFaults(f"rate must be within 0..1: {doc!r}")
    if rule.kind == "error" and rule.status not in ERROR_STATUSES:
        raise InvalidFaults(f"status must be one of {ERROR_STATUSES}: {doc!r}")
    return rule


@dataclass
class Decision:
    """What to do with one request: sleep ``delay`` seconds, then maybe fail in some way."""

    delay: float = 0.0
    error_status: Optional[int] = None
    drop: bool = False
    rules: list = field(default_factory=list)


class FaultInjector:
    """Holds the active rules and draws decisions from a seeded RNG, thread-safely."""

    def __init__(self, config=None, seed=None):
        self._lock = threading.Lock()
        self._default_seed = seed
        self.replace(config or {})

    def replace(self, config):
        """Replace all rules with ``{"seed": int?, "rules": [...]}``."""
        if not isinstance(config, dict) or not isinstance(config.get("rules", []), list):
            raise InvalidFaults('expected {"seed": int, "rules": [ ... ]}')
        rules = [parse_rule(doc) for doc in config.get("rules", [])]
        seed = config.get("seed", self._default_seed)
        with self._lock:
            self._rules = rules
            self._seed = seed
            self._rng = random.Random(seed)

    def as_json(self):
        """The active configuration, remaining counts included."""
        with self._lock:
            return {"seed": self._seed, "rules": [rule.as_json() for rule in self._rules]}

    def decide(self, method, path):
        """Draw the faults for one request; consumes ``count`` of every rule that fires."""
        decision = Decision()
        with self._lock:
            for rule in self._rules:
                if rule.count == 0 or not rule.matches(method, path):
                    continue
                if rule.kind != "latency" and (decision.error_status or decision.drop):
                    continue
                if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                decision.rules.append(rule.kind)
                if rule.kind == "latency":
                    jitter = self._rng.uniform(0, rule.jitter_ms) if rule.jitter_ms else 0.0
                    decision.delay += (rule.latency_ms + jitter) / 1000.0
                elif rule.kind == "hang":
                    decision.delay += rule.seconds
                elif rule.kind == "error":
                    decision.error_status = rule.status
                else:
                    decision.drop = True
        return decision
