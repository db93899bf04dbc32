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


class FakeRun:
    """The chaos run as the saved-card lane sees it: an API whose saved cards are active at once."""

    def __init__(self):
        self.args = mock.Mock(seed=3)
        self.procs = {"sim": mock.Mock(mint_nonce=lambda: "tokencc_sim_x")}
        self.posted = []

    def api(self, method, path, body=None, headers=None):
        self.posted.append((method, path))
        if path == "/api/customers/":
            return 201, {}, {"id": "c1"}
        if method == "POST":
            return 202, {}, {"id": f"pm{len(self.posted)}", "status": "pending"}
        return 200, {}, {"status": "active"}

    def log(self, msg):
        pass


def test_the_saved_card_lane_moves_a_share_of_card_orders_onto_saved_cards_and_leaves_nonce_orders():
    # given
    from bench.chaos.plan import plan_orders
    from bench.chaos.traffic import NONCE_ONLY_KINDS, Traffic

    plan = plan_orders(400, random.Random(5))
    # when
    cards = Traffic(FakeRun()).save_cards(plan, share=0.3, count=5)
    # then
    on_cards = [p for p in plan if p.saved]
    assert len(cards) == 5 and {p.saved for p in on_cards} <= set(cards)
    assert 0.2 * len(plan) < len(on_cards) < 0.4 * len(plan)
    assert not any(p.saved for p in plan if p.kind in NONCE_ONLY_KINDS)


def test_a_saved_order_is_sent_with_its_payment_method_and_no_nonce():
    # given
    from bench.chaos.traffic import Traffic

    run = FakeRun()
    run.args = mock.Mock(seconds=0.01)
    run.remaining = lambda: 999
    run.rng = random.Random(1)
    p = planned()
    p.saved = "pm1"
    traffic = Traffic(run)
    # when
    with mock.patch.object(Traffic, "submit_one"):
        traffic.submit_all([p])
    # then
    assert p.body["payment_method"] == "pm1" and "payment_method_nonce" not in p.body
