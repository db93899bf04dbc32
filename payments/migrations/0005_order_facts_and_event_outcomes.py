"""Facts the services decide on become columns, backfilled from the event log; outcomes get choices.

- `ever_claimed`: the order has a claim or sale event (what the claim used to query).
- `last_sale_outcome`: the outcome of its latest sale event (what giving up used to read).
- find events: the outcome was the gateway's transaction status; it becomes `found`, and the
  status moves to detail["status"] (reversed on the way back).
"""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery

SALE_OUTCOMES = ["approved", "declined", "rejected", "processor_failed", "invalid", "unavailable"]
FIND_OUTCOMES_KEPT = ["", "not_found", "unavailable"]
BATCH = 1000


def backfill_order_facts(apps, schema_editor):
    Order = apps.get_model("payments", "Order")
    OrderEvent = apps.get_model("payments", "OrderEvent")
    claimed = OrderEvent.objects.filter(order=OuterRef("pk"), action__in=["claim", "sale"])
    Order.objects.filter(Exists(claimed)).update(ever_claimed=True)
    last_sale = (
        OrderEvent.objects.filter(order=OuterRef("pk"), action="sale", outcome__in=SALE_OUTCOMES)
        .order_by("-id")
        .values("outcome")[:1]
    )
    Order.objects.filter(Exists(last_sale)).update(last_sale_outcome=Subquery(last_sale))


def _rewrite_find_events(OrderEvent, events, rewrite):
    batch = []
    for event in events.iterator(chunk_size=BATCH):
        rewrite(event)
        batch.append(event)
        if len(batch) == BATCH:
            OrderEvent.objects.bulk_update(batch, ["outcome", "detail"])
            batch = []
    OrderEvent.objects.bulk_update(batch, ["outcome", "detail"])


def find_status_to_detail(apps, schema_editor):
    OrderEvent = apps.get_model("payments", "OrderEvent")

    def rewrite(event):
        event.detail = {**(event.detail or {}), "status": event.outcome}
        event.outcome = "found"

    events = OrderEvent.objects.filter(action="find").exclude(outcome__in=FIND_OUTCOMES_KEPT + ["found"])
    _rewrite_find_events(OrderEvent, events, rewrite)


def find_status_to_outcome(apps, schema_editor):
    OrderEvent = apps.get_model("payments", "OrderEvent")

    def rewrite(event):
        detail = dict(event.detail or {})
        event.outcome = detail.pop("status", "found")
        event.detail = detail

    _rewrite_find_events(OrderEvent, OrderEvent.objects.filter(action="find", outcome="found"), rewrite)


class Migration(migrations.Migration):
    dependencies = [
        ('payments', '0004_rename_orderattempt_orderevent'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='ever_claimed',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='order',
            name='last_sale_outcome',
            field=models.CharField(blank=True, choices=[('approved', 'Approved'), ('declined', 'Processor declined'), ('rejected', 'Gateway rejected'), ('processor_failed', 'Processor failed (3000)'), ('invalid', 'Validation error'), ('unavailable', 'Unknown (no answer)')], default='', max_length=16),
        ),
        migrations.AlterField(
            model_name='orderevent',
            name='outcome',
            field=models.CharField(blank=True, choices=[('claimed', 'Claimed'), ('claims_exhausted', 'Claims exhausted'), ('approved', 'Approved'), ('declined', 'Processor declined'), ('rejected', 'Gateway rejected'), ('processor_failed', 'Processor failed (3000)'), ('invalid', 'Validation error'), ('unavailable', 'No answer'), ('orphaned_sale', 'Successful sale the order did not record'), ('found_paid', 'Found a successful sale'), ('no_paid_sale', 'No successful sale'), ('late_sale_amount_mismatch', 'Late sale with another amount'), ('found', 'Found'), ('not_found', 'Not found'), ('sale_approved', 'Sale approved'), ('sale_declined', 'Sale declined'), ('sale_rejected', 'Sale rejected'), ('sale_invalid', 'Sale invalid'), ('sale_adopted', 'Earlier sale adopted'), ('processor_failed_retrying', 'Processor failed, retrying'), ('processor_failed_final', 'Processor failed, giving up'), ('parked', 'Parked for review'), ('retries_exhausted', 'Retries exhausted'), ('verified_paid', 'Verified paid'), ('verified_failed', 'Verified failed'), ('verified_needs_review', 'Verified: needs review'), ('late_sale_adopted', 'Late sale adopted'), ('reconciler_charge', 'Reconciler re-sent charge'), ('reconciler_verify', 'Reconciler re-sent verify'), ('admin_requeue', 'Admin re-queue')], default='', max_length=64),
        ),
        migrations.RunPython(backfill_order_facts, migrations.RunPython.noop),
        migrations.RunPython(find_status_to_detail, find_status_to_outcome),
    ]
