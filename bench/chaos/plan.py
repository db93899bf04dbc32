"""What a chaos run sends and when it strikes: the seeded order mix and the fault schedule."""

import uuid
from dataclasses import dataclass, field


@dataclass
class Planned:
    index: int
    kind: str            # approved, declined, rejected, failed3000, consumed_nonce, unknown_nonce
    amount: str
    nonce: str           # "mint" = ask the simulator for a fresh single-use nonce at submit time
    key: str
    copies: int = 1      # >1: duplicate submissions with the same Idempotency-Key
    concurrent: bool = False
    responses: list = field(default_factory=list)
    body: dict = None
    # A saved card charged instead of the nonce (a saved method's id, or a design's vault token):
    # reusable, so a resale on it is a real second charge.
    saved: str = None


MIX = (
    ("approved", 0.70),
    ("declined", 0.08),
    ("rejected", 0.04),
    ("failed3000", 0.04),
    ("consumed_nonce", 0.04),
    ("unknown_nonce", 0.03),
    ("duplicate", 0.07),
)


def plan_orders(n, rng):
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    plan = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        copies, concurrent = 1, False
        if kind == "duplicate":
            copies, concurrent = rng.choice((2, 2, 3)), rng.random() < 0.5
            kind = "approved"
            dup = True
        else:
            dup = False
        nonce = rng.choice(("fake-valid-nonce", "mint"))
        if kind == "approved":
            amount = f"{rng.uniform(1, 1999.99):.2f}"
        elif kind == "declined":
            amount = f"{rng.uniform(2000, 2999.99):.2f}"
        elif kind == "rejected":
            amount = "5001.00"
        elif kind == "failed3000":
            amount = f"{rng.uniform(3000, 3000.99):.2f}"
        elif kind == "consumed_nonce":
            amount, nonce = f"{rng.uniform(1, 1999.99):.2f}", "fake-consumed-nonce"
        else:
            amount, nonce = f"{rng.uniform(1, 1999.99):.2f}", f"unknown-nonce-{rng.getrandbits(48):x}"
        key = f"chaos-{uuid.UUID(int=rng.getrandbits(128))}"
        plan.append(Planned(i, "duplicate" if dup else kind, amount, nonce, key, copies, concurrent))
    return plan


def plan_faults(seconds, repeats, rng, kinds):
    """Seeded (moment, kind) pairs spread over 5–85 % of the submission window, every kind `repeats` times."""
    events = [kind for kind in kinds for _ in range(repeats)]
    rng.shuffle(events)
    slots = len(events)
    out = []
    for i, kind in enumerate(events):
        lo = seconds * (0.05 + 0.80 * i / slots)
        hi = seconds * (0.05 + 0.80 * (i + 1) / slots)
        out.append((rng.uniform(lo, hi), kind))
    return out


# A soak's faults: one every 5-40 s, each drawn from every kind the run allows.
SOAK_GAP_SECONDS = (5, 40)


def plan_soak_faults(seconds, rng, kinds, gaps=SOAK_GAP_SECONDS):
    """Seeded (moment, kind) pairs for a soak of `seconds`: a fault every `gaps` seconds (uniform),
    its kind drawn from `kinds`, until 90 % of the window (the rest is for the last ones to heal)."""
    out, at = [], rng.uniform(*gaps)
    while at < seconds * 0.9:
        out.append((at, rng.choice(kinds)))
        at += rng.uniform(*gaps)
    return out
