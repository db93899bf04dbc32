"""Migration 0005's data steps on the real database (no process started): facts from the event log."""

import importlib

import pytest
from django.apps import apps as django_apps

from payments.models import Order, OrderEvent
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("payments.migrations.0005_order_facts_and_event_outcomes")


def event(order, action, outcome="", **fields):
    return OrderEvent.objects.create(order=order, action=action, outcome=outcome, **fields)


def test_backfill_derives_ever_claimed_and_the_last_sale_outcome_from_the_event_log():
    # given: rows as the old code wrote them, before the columns existed
    unknown_last = OrderFactory(status="processing")
    event(unknown_last, "claim", "claimed")
    event(unknown_last, "sale", "processor_failed")
    event(unknown_last, "sale", "unavailable")
    failed_last = OrderFactory(status="processing")
    event(failed_last, "claim", "claimed")
    event(failed_last, "sale", "unavailable")
    event(failed_last, "sale", "processor_failed")
    event(failed_last, "sale", "orphaned_sale")  # a note on another sale, not an answer to ours
    never_claimed = OrderFactory()
    event(never_claimed, "create")
    # when
    migration.backfill_order_facts(django_apps, None)
    # then
    facts = dict(Order.objects.values_list("pk", "ever_claimed"))
    outcomes = dict(Order.objects.values_list("pk", "last_sale_outcome"))
    assert (facts[unknown_last.pk], outcomes[unknown_last.pk]) == (True, "unavailable")
    assert (facts[failed_last.pk], outcomes[failed_last.pk]) == (True, "processor_failed")
    assert (facts[never_claimed.pk], outcomes[never_claimed.pk]) == (False, "")


def test_find_events_keep_the_gateway_status_in_detail_and_the_step_reverses():
    # given
    order = OrderFactory()
    found = event(order, "find", "settled", detail={"amount": "10.00"})
    missing = event(order, "find", "not_found")
    # when
    migration.find_status_to_detail(django_apps, None)
    # then
    found.refresh_from_db()
    missing.refresh_from_db()
    assert (found.outcome, found.detail) == ("found", {"amount": "10.00", "status": "settled"})
    assert (missing.outcome, missing.detail) == ("not_found", {})
    # when: migrating back
    migration.find_status_to_outcome(django_apps, None)
    # then
    found.refresh_from_db()
    assert (found.outcome, found.detail) == ("settled", {"amount": "10.00"})
