"""Two no-op tasks per "order", chained, for the pipeline benchmark's same-run Celery ceiling.

Loaded into the payments worker with `--include bench.celery_ceiling` by bench/pipeline_throughput.py
only; never imported by the service. The second task counts completions in the broker's Redis, so
the benchmark knows when a batch is done without a result backend.
"""

import os

import redis
from celery import shared_task

COUNTER_KEY = "bench:ceiling:done"
_client = None


def _redis():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    return _client


@shared_task(name="bench.ceiling.first", ignore_result=True, acks_late=True)
def first(n):
    return None


@shared_task(name="bench.ceiling.second", ignore_result=True, acks_late=True)
def second(n):
    _redis().incr(COUNTER_KEY)
