"""`manage.py rotate_api_token <username>`: replace (or, with --revoke, remove) a user's API tokens.

A token is shown once, here, and stored only as a digest with an expiry (API_TOKEN_TTL_DAYS; see
payments/tokens/services.py). Rotation issues the new token and ends the old ones in one
transaction: at once, or after `--grace-minutes` so that a client can switch without an outage.
The new key is printed on stdout only, for the operator to hand over. See docs/reference/api.md,
"Tokens".
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from knox.settings import knox_settings

from payments.tokens.services import api_token_revoke, api_token_rotate


class Command(BaseCommand):
    help = "Issue a user a new API token (printed once) and end the old ones, or only end them with --revoke."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="End the user's tokens and issue none.")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=0,
            help="Let the old tokens work this many minutes more (default 0: they stop at once).",
        )

    def handle(self, *args, username, revoke, grace_minutes, **options):
        if grace_minutes < 0:
            raise CommandError("--grace-minutes must be 0 or more.")
        grace = timedelta(minutes=grace_minutes)
        User = get_user_model()
        with transaction.atomic():
            try:
                user = User.objects.select_for_update().get(**{User.USERNAME_FIELD: username})
            except User.DoesNotExist as exc:
                raise CommandError(f"No user named {username!r}.") from exc
            if revoke:
                ended = api_token_revoke(user, grace=grace)
                key = None
            else:
                key = api_token_rotate(user, grace=grace)
        when = f"in {grace_minutes} minutes" if grace_minutes else "now"
        if key is None:
            self.stderr.write(f"Ended {ended} token(s) of {username} ({when}); the user has no new API token.")
            return
        ttl = knox_settings.TOKEN_TTL
        validity = f"valid for {ttl.days} days" if ttl else "valid until revoked"
        self.stderr.write(f"New API token of {username}, {validity}; the old ones stop working {when}:")
        self.stdout.write(key)
