"""API tokens move from DRF's plain-text table to django-rest-knox's digests, keys unchanged.

Each row of `authtoken_token` (left behind by `rest_framework.authtoken`, no longer installed)
becomes a knox token with the same key, stored as its SHA-512 digest and given the configured
lifetime from now, so clients keep working across the upgrade and rotate within
API_TOKEN_TTL_DAYS. The plain-text rows are then deleted. A database that never had the table
(a new one) has nothing to move. Not reversible: the keys are not kept.
"""

from django.db import migrations
from django.utils import timezone

LEGACY_TABLE = "authtoken_token"


def hash_plaintext_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS, knox_settings

    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {LEGACY_TABLE}")
        rows = cursor.fetchall()
    ttl = knox_settings.TOKEN_TTL
    expiry = timezone.now() + ttl if ttl else None
    # bulk_create, not create(): knox's manager's create() mints a new key.
    AuthToken.objects.bulk_create(
        AuthToken(digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=expiry)
        for key, user_id in rows
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LEGACY_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0013_status_detail_and_refund_permission"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(hash_plaintext_tokens, migrations.RunPython.noop, elidable=True),
    ]
