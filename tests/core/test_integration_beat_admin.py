"""Admins steer the reconciler from Django admin, and a running beat follows without a restart.

Real processes: beat with the DatabaseScheduler (`--max-interval 1`), the maintenance worker
that runs the reconciler, a payments worker and the gateway simulator, on the test database and
a private redis-server. The admin edits go through the real change form of django-celery-beat's
PeriodicTask admin, as an admin's browser would post it.
"""

import datetime
import importlib
import re
import time

import pytest
from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from devtools.polling import wait_until
from devtools.settings import FAST_SETTINGS
from devtools.stack import Beat, RedisServer, Simulator, Worker, environment, start_together, stop_together
from payments.models import Order, OrderEvent
from payments.core.schedules import RECONCILE_INTERVAL_SECONDS, RECONCILE_TASK_NAME
from tests.factories import OrderFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SENT_BY_BEAT = re.compile(rf"Sending due task {re.escape(RECONCILE_TASK_NAME)}\b")


@pytest.fixture
def reconcile_schedule():
    """The reconciler's PeriodicTask as the data migration creates it.

    Every transactional test ends with a flush that deletes the migration's rows, so run its
    (idempotent) function again. serialized_rollback would restore them too, but it breaks on
    content types re-created by the flush of an earlier transactional test.
    """
    migration = importlib.import_module("payments.migrations.0002_reconcile_periodic_task")
    migration.create_reconcile_task(apps, schema_editor=None)
    importlib.import_module("payments.migrations.0015_reconcile_every_five_seconds").every_five_seconds(apps, None)
    return PeriodicTask.objects.get(name=RECONCILE_TASK_NAME)


@pytest.fixture
def beat_stack(reconcile_schedule, tmp_path_factory):
    """Beat, the maintenance and payments workers and the simulator; yields beat."""
    run_dir = tmp_path_factory.mktemp("beat-admin")
    with RedisServer(run_dir=run_dir) as redis_server, Simulator(run_dir=run_dir) as sim:
        env = environment(
            db_name=connection.settings_dict["NAME"],
            broker_url=redis_server.url(0),
            simulator_url=sim.url,
            extra=FAST_SETTINGS,
        )
        beat = Beat(max_interval=1, env=env, run_dir=run_dir)
        processes = [
            Worker(name="maintenance", queues="default,maintenance", env=env, run_dir=run_dir),
            Worker(name="payments", queues="payments", env=env, run_dir=run_dir),
            beat,
        ]
        try:
            start_together(processes)
            yield beat
        finally:
            stop_together(processes)


@pytest.fixture
def admin_client():
    admin = get_user_model().objects.create_superuser(username="ops", email="", password="pw")
    client = Client()
    client.force_login(admin)
    return client


def reconcile_task():
    return PeriodicTask.objects.get(name=RECONCILE_TASK_NAME)


def sends(beat):
    """How often beat has sent the reconciler since it started."""
    return len(SENT_BY_BEAT.findall(beat.log_text()))


def stuck_pending_order():
    """An order that was stored but never dispatched, an hour ago: the reconciler's job."""
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    return order


def reconciler_requeues(order):
    return order.events.filter(action=OrderEvent.Action.REQUEUE).count()


def _post_value(value):
    if hasattr(value, "pk"):
        return value.pk
    return "" if value is None else value


def form_post_data(form, changes=None):
    """What a browser posts for `form` as rendered, with `changes` applied."""
    changes = changes or {}
    data = {}
    for name, field in form.fields.items():
        value = changes[name] if name in changes else form[name].value()
        key = form.add_prefix(name)
        if isinstance(field.widget, forms.MultiWidget):
            parts = field.widget.decompress(value) if value else [None] * len(field.widget.widgets)
            data.update({f"{key}_{i}": _post_value(part) for i, part in enumerate(parts)})
        elif isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        else:
            data[key] = _post_value(value)
    return data


def admin_save(client, url, **changes):
    """Open an admin add/change page, edit `changes` and press Save, as an admin would."""
    page = client.get(url)
    assert page.status_code == 200
    data = form_post_data(page.context["adminform"].form, changes)
    # Inlines (e.g. the tasks listed under an interval) post their management forms too.
    for inline in page.context["inline_admin_formsets"]:
        data.update(form_post_data(inline.formset.management_form))
        for inline_form in inline.formset.forms:
            data.update(form_post_data(inline_form))
    response = client.post(url, {**data, "_save": "Save"})
    if response.status_code != 302:
        context = response.context
        errors = [context["adminform"].form.errors.as_data(), context.get("errors")]
        pytest.fail(f"admin refused to save {url}: {errors}")


def admin_add_interval(client, seconds):
    admin_save(
        client,
        reverse("admin:django_celery_beat_intervalschedule_add"),
        every=seconds,
        period=IntervalSchedule.SECONDS,
    )
    return IntervalSchedule.objects.get(every=seconds, period=IntervalSchedule.SECONDS)


def admin_change_periodic_task(client, task, **changes):
    admin_save(client, reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]), **changes)


def test_setting_a_one_second_interval_in_admin_makes_running_beat_reconcile(beat_stack, admin_client):
    # given beat running the migrations' schedule (every 5 s) and an order stuck in pending
    beat = beat_stack
    order = stuck_pending_order()
    assert reconcile_task().interval.every == RECONCILE_INTERVAL_SECONDS

    # when an admin gives the reconciler a 1-second interval
    every_second = admin_add_interval(admin_client, 1)
    admin_change_periodic_task(admin_client, reconcile_task(), interval=every_second)
    sent_before = sends(beat)

    # then the same beat process sends it every second (four sends in less time than two of the
    # old interval), and the stuck order gets charged
    wait_until(lambda: sends(beat) >= sent_before + 4, timeout=2 * RECONCILE_INTERVAL_SECONDS - 2,
               desc="beat sending the reconciler every second")
    order = wait_until(
        lambda: Order.objects.filter(pk=order.pk, status="paid").first(), timeout=15, desc="order paid"
    )
    assert reconciler_requeues(order) >= 1
    assert beat.alive() and beat.starts == 1


def test_disabling_the_periodic_task_in_admin_stops_running_beat_sending_it(beat_stack, admin_client):
    # given beat sending the reconciler every second
    beat = beat_stack
    every_second = admin_add_interval(admin_client, 1)
    admin_change_periodic_task(admin_client, reconcile_task(), interval=every_second)
    wait_until(lambda: sends(beat) >= 2, timeout=10, desc="beat sending the reconciler twice")

    # when an admin disables it, and beat has had its 1 s max-interval (plus slack) to notice
    admin_change_periodic_task(admin_client, reconcile_task(), enabled=False)
    time.sleep(2)
    sent_before = sends(beat)
    order = stuck_pending_order()
    time.sleep(4)

    # then beat sent nothing more, and nothing picked up the new stuck order
    assert sends(beat) == sent_before
    order.refresh_from_db()
    assert order.status == "pending"
    assert reconciler_requeues(order) == 0
    assert not reconcile_task().enabled
    assert beat.alive() and beat.starts == 1
