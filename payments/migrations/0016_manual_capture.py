"""Manual capture: an order may only authorize at the sale and be captured or canceled later."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("payments", "0015_reconcile_every_five_seconds")]

    operations = [
        migrations.RemoveConstraint(
            model_name='order',
            name='order_status_known',
        ),
        migrations.AddField(
            model_name='order',
            name='authorization_decision',
            field=models.CharField(blank=True, choices=[('capture', 'Capture'), ('cancel', 'Cancel')], default='', max_length=16),
        ),
        migrations.AddField(
            model_name='order',
            name='authorization_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='authorized_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='capture',
            field=models.CharField(choices=[('automatic', 'Automatic'), ('manual', 'Manual')], default='automatic', max_length=16),
        ),
        migrations.AddField(
            model_name='order',
            name='captured_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='decision_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='order',
            name='decision_fingerprint',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='order',
            name='decision_idempotency_key',
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AlterField(
            model_name='order',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('processing', 'Processing'), ('paid', 'Paid'), ('failed', 'Failed'), ('needs_review', 'Needs review'), ('partially_refunded', 'Partially refunded'), ('refunded', 'Refunded'), ('settlement_declined', 'Settlement declined'), ('authorized', 'Authorized'), ('canceled', 'Canceled'), ('authorization_expired', 'Authorization expired')], default='pending', max_length=24),
        ),
        migrations.AlterField(
            model_name='orderevent',
            name='action',
            field=models.CharField(choices=[('create', 'Create'), ('claim', 'Claim'), ('sale', 'Sale'), ('search', 'Search by order id'), ('find', 'Find transaction'), ('transition', 'Transition'), ('requeue', 'Re-queue'), ('refund', 'Refund'), ('settlement', 'Settlement'), ('dispute', 'Dispute'), ('capture', 'Capture'), ('cancel', 'Cancel (void)')], max_length=16),
        ),
        migrations.AlterField(
            model_name='orderevent',
            name='outcome',
            field=models.CharField(blank=True, choices=[('claimed', 'Claimed'), ('claims_exhausted', 'Claims exhausted'), ('approved', 'Approved'), ('declined', 'Processor declined'), ('rejected', 'Gateway rejected'), ('processor_failed', 'Processor failed (3000)'), ('invalid', 'Validation error'), ('unavailable', 'No answer'), ('orphaned_sale', 'Successful sale the order did not record'), ('found_paid', 'Found a successful sale'), ('no_paid_sale', 'No successful sale'), ('late_sale_amount_mismatch', 'Late sale with another amount'), ('late_sale_currency_mismatch', 'Late sale in another currency or account'), ('found', 'Found'), ('not_found', 'Not found'), ('sale_approved', 'Sale approved'), ('sale_declined', 'Sale declined'), ('sale_rejected', 'Sale rejected'), ('sale_invalid', 'Sale invalid'), ('sale_adopted', 'Earlier sale adopted'), ('processor_failed_retrying', 'Processor failed, retrying'), ('processor_failed_final', 'Processor failed, giving up'), ('parked', 'Parked for review'), ('retries_exhausted', 'Retries exhausted'), ('verified_paid', 'Verified paid'), ('verified_failed', 'Verified failed'), ('verified_needs_review', 'Verified: needs review'), ('late_sale_adopted', 'Late sale adopted'), ('reconciler_charge', 'Reconciler re-sent charge'), ('reconciler_verify', 'Reconciler re-sent verify'), ('admin_requeue', 'Admin re-queue'), ('refund_requested', 'Refund requested'), ('refunded', 'Refund recorded'), ('refund_refused', 'Refund refused by the gateway'), ('settled', 'Sale settled'), ('settlement_declined', 'Settlement declined'), ('dispute', 'Dispute notification'), ('verified_authorized', 'Verified: authorized'), ('capture_requested', 'Capture requested'), ('cancel_requested', 'Cancel requested'), ('captured', 'Captured'), ('canceled', 'Authorization voided'), ('authorization_expired', 'Authorization expired'), ('decision_refused', 'Capture or cancel refused by the gateway')], default='', max_length=64),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('status', 'authorized')), fields=['authorization_expires_at'], name='order_authorized_by_expiry'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'processing', 'paid', 'failed', 'needs_review', 'partially_refunded', 'refunded', 'settlement_declined', 'authorized', 'canceled', 'authorization_expired'])), name='order_status_known'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('captured_amount__isnull', True), ('authorized_amount__isnull', True), ('captured_amount__lte', models.F('authorized_amount')), _connector='OR'), name='order_captured_within_authorized'),
        ),
    ]
