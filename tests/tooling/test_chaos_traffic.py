"""How a planned order is sent (bench/chaos/traffic.py), by the chaos harness and bench.compare alike."""

import random
from unittest import mock

from bench.chaos.plan import Planned
from bench.chaos.traffic import send_planned


class InlinePool:
    """Runs what is submitted at once, in order."""

    def submit(self, fn, *args):
        fn(*args)


def planned(copies=1, concurrent=False):
    return Planned(index=0, kind="approved", amount="10.00", nonce="fake-valid-nonce", key="k",
                   copies=copies, concurrent=concurrent)


def test_a_single_order_is_submitted_once_and_draws_nothing_from_the_seed():
    rng, sent = random.Random(1), []
    send_planned(InlinePool(), planned(), sent.append, rng)
    assert len(sent) == 1
    assert rng.random() == random.Random(1).random()


def test_concurrent_duplicates_are_all_submitted():
    sent = []
    send_planned(InlinePool(), planned(copies=3, concurrent=True), sent.append, random.Random(1))
    assert len(sent) == 3


def test_spaced_duplicates_sleep_the_seeded_gaps_between_submissions():
    sent = []
    with mock.patch("bench.chaos.traffic.time.sleep") as sleep:
        send_planned(InlinePool(), planned(copies=2), sent.append, random.Random(1))
    seeded = random.Random(1)
    assert len(sent) == 2
    assert [c.args[0] for c in sleep.call_args_list] == [seeded.uniform(0.05, 1.5), seeded.uniform(0.05, 1.5)]
