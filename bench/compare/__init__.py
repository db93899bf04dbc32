"""The design this service replaces, a naive Celery port and this service: same orders, same faults.

    python -m bench.compare --ci --out /tmp/compare.json         # all three designs, < 7 minutes
    python -m bench.compare --orders 600 --seconds 150 --fault-repeats 3 --seed 7 \
        --out bench/results/compare-full.json                   # the README's table and chart

Designs (comparison/README.md): `channels_seed` (the blog post's Channels 4 custom channel,
runworker and sweeper command), `celery_naive` (its handler as an acks_late/autoretry Celery task
with a beat sweeper) and `payments` (this service, laid out as bench/chaos runs it). Each runs
in turn on this machine against one simulator (reset between designs), its own redis-server and
its own PostgreSQL database, with the same scaled settings (devtools.settings.CHAOS_SETTINGS: gateway
timeout 2 s, retries 1 s doubling to 4 s, 5 retries) and one sweeper / reconciler cadence.

Per design: a fault-free pass at 0 and at 200 ms gateway latency (orders/s, machine CPU per
order), then the seeded order stream (bench.chaos's mix, every nonce minted single use through
the simulator) with the seeded fault schedule, a quiet period, and the figures: submitted,
accepted, refused (and how), lost, double charged, orphaned, wrong final status, time to final.
Then the same stream and faults again with every card order on one of five saved cards (stored
at the pass's start, each design its own way: Braintree's vault through `Customer.create` for
the reference designs, this service's customers API): a token is reusable, so a resale that the
gateway refused as a spent nonce (91564) in the first stream is a second charge in this one.
Orders are matched to ledger sales by amount (unique per planned order), so a design that never
sends an order id to the gateway is judged the same way as one that does.

The package: `harness` (the run: each design in turn, its throughput and fault passes),
`faults` (the fault lanes and what each fault does to a design), `figures` (the orders against
the ledger), `report` (the table, the JSON and the chart), `__main__` (arguments; the life cycle
is bench/runner.py's). The designs' processes are comparison/stacks.py's.

Exit status: 0 this service kept its promises (0 lost, 0 double charged, 0 orphaned), 1 it broke
one, 2 setup failed, 3 deadline. The other designs' failures are the figures, never the exit code.
"""
