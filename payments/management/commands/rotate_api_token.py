"""`manage.py rotate_api_token <username>`: replace (or, with --revoke, remove) a user's API token.

DRF's token is one random 160-bit key per user, stored as is and valid until replaced. Rotation
deletes the old key and creates a new one in one transaction, so the old key stops working at the
moment the new one exists; the new key is printed once, on stdout only, for the operator to hand
over. See docs/reference/api.md, "Tokens".
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Replace a user's API token with a new one (printed once), or revoke it with --revoke."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Delete the token and create none.")

    def handle(self, *args, username, revoke, **options):
        User = get_user_model()
        with transaction.atomic():
            try:
                user = User.objects.select_for_update().get(**{User.USERNAME_FIELD: username})
            except User.DoesNotExist as exc:
                raise CommandError(f"No user named {username!r}.") from exc
            revoked = Token.objects.filter(user=user).delete()[0]
            token = None if revoke else Token.objects.create(user=user)
        if token is None:
            self.stderr.write(f"Revoked {revoked} token(s) of {username}; the user has no API token now.")
        else:
            self.stderr.write(f"New API token of {username} (the old one no longer works):")
            self.stdout.write(token.key)
