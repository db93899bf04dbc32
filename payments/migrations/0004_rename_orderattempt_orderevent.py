"""OrderAttempt becomes OrderEvent: it logs creation and re-queues too, not only attempts.

RenameModel renames the table (payments_orderattempt -> payments_orderevent) and keeps every row.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_order_in_review_index"),
    ]

    operations = [
        migrations.RenameModel(old_name="OrderAttempt", new_name="OrderEvent"),
        migrations.AlterField(
            model_name="orderevent",
            name="order",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="events", to="payments.order"
            ),
        ),
    ]
