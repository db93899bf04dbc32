"""Saved payment methods: an API client's customers, the cards stored on them in Braintree's vault, and an
order charged on one."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0016_manual_capture'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Customer',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('email', models.EmailField(blank=True, default='', max_length=254)),
                ('reference', models.CharField(blank=True, default='', max_length=255)),
                ('gateway_customer_created', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='customers', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='PaymentMethod',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('active', 'Active'), ('failed', 'Failed'), ('deleted', 'Deleted')], default='pending', max_length=16)),
                ('payment_method_nonce', models.TextField(blank=True, default='')),
                ('make_default', models.BooleanField(default=True)),
                ('card_type', models.CharField(blank=True, default='', max_length=32)),
                ('last_4', models.CharField(blank=True, default='', max_length=4)),
                ('expiration_month', models.CharField(blank=True, default='', max_length=2)),
                ('expiration_year', models.CharField(blank=True, default='', max_length=4)),
                ('is_default', models.BooleanField(default=False)),
                ('failure_reason', models.CharField(blank=True, default='', max_length=255)),
                ('error_codes', models.JSONField(blank=True, default=list)),
                ('store_attempts', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('deleted_at', models.DateTimeField(blank=True, null=True)),
                ('gateway_deleted_at', models.DateTimeField(blank=True, null=True)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payment_methods', to='payments.customer')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='order',
            name='payment_method',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='payments.paymentmethod'),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['owner', '-created_at'], name='customer_owner_recent'),
        ),
        migrations.AddIndex(
            model_name='paymentmethod',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['updated_at'], name='pm_pending_by_age'),
        ),
        migrations.AddIndex(
            model_name='paymentmethod',
            index=models.Index(condition=models.Q(('gateway_deleted_at__isnull', True), ('status', 'deleted')), fields=['deleted_at'], name='pm_undeleted_at_gateway'),
        ),
        migrations.AddConstraint(
            model_name='paymentmethod',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'active', 'failed', 'deleted'])), name='payment_method_status_known'),
        ),
    ]
