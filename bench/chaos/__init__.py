"""Fault-injection harness: prove the payment promises under crashes, broker loss and gateway faults.

    python -m bench.chaos --ci --out /tmp/chaos.json           # ~60 orders, every fault once, < 3 min
    python -m bench.chaos --orders 1000 --seconds 150 --seed 7 --out bench/results/chaos.json

On this machine it starts its own processes (devtools/stack.py): the Braintree simulator with a
state file, a private redis-server as broker, the API under gunicorn, two payments workers
(threads pool, four threads each), the reconciliation worker (prefork, one pool process) and beat,
all on a fresh PostgreSQL database of its own (dropped at the end unless --keep), supervised as
deploy/ does: restart on exit, and on a failed liveness probe (bench/chaos/supervision.py). It
submits orders over HTTP at a steady rate with a seeded mix, injects seeded faults while they
flow, waits until every order is terminal (bounded), then checks (devtools/invariants.py):

  I1  at most one successful sale at the gateway per order;
  I2  every accepted order reached paid / failed / needs_review (plus time-to-terminal figures);
  I3  every successful sale belongs to exactly one paid order (same transaction id and amount),
      and every paid order has one;
  I4  no order's status went backwards, and the audit trail is a continuous chain;
  I5  duplicate submissions with one Idempotency-Key made one order and at most one charge;
  I6–I9 after the sale (refunds, voids, disputes); and of the supervision (checks.py):
  S1  every pool freeze_pool stopped was restarted by the liveness probe within its bound;
  S2  no order active at a supervisor restart waited past the reconciler's bound without progress.

Exit status: 0 all invariants hold, 1 an invariant was violated, 2 the stack could not be set up,
3 the global deadline expired. Logs of every process stay in the run directory.

The package: `plan` (the order mix, the fault schedule), `stack` (the processes), `traffic` (the
orders over HTTP), `faults` and `pool_faults` (one handler per fault kind), `supervision` (probes,
restart policy, the supervisor), `after_sale` (refunds, voids, disputes), `harness` (the run: its
phases, the heal, the quiet wait), `checks` (reading the run, the invariants), `report` (stdout),
`__main__` (arguments; the life cycle is bench/runner.py's).
"""
