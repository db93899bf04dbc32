"""`manage.py bootstrap_demo`: the demo API client and an admin login for `make run`. Idempotent."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

DEMO_USERNAME = "demo"
ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Create (once) the demo API user and token and the admin superuser; print a curl example."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="where the web process listens"
        )

    def handle(self, *args, base_url, **options):
        base_url = base_url.rstrip("/")
        with transaction.atomic():
            token = self._demo_token()
            admin_password = self._admin_password()

        self.stdout.write(f"Demo API token (user {DEMO_USERNAME}): {token.key}")
        if admin_password is not None:
            # Printed once, when it was generated; it is never written anywhere else.
            self.stdout.write(
                f"Admin login: {base_url}/admin/ user {ADMIN_USERNAME} password {admin_password}"
            )
        else:
            source = "DEMO_ADMIN_PASSWORD"
            if not os.environ.get("DEMO_ADMIN_PASSWORD"):
                source = "unchanged; set DEMO_ADMIN_PASSWORD to reset"
            self.stdout.write(f"Admin login: {base_url}/admin/ user {ADMIN_USERNAME} (password: {source})")
        self.stdout.write(self._curl_example(base_url, token.key))

    def _demo_token(self):
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        if created:
            # An API client, not a person: it authenticates with its token only.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        token, _ = Token.objects.get_or_create(user=user)
        return token

    def _admin_password(self):
        """Set the admin password from DEMO_ADMIN_PASSWORD, or generate one for a new admin.

        Returns the password only when it was generated here, so it can be shown once.
        """
        User = get_user_model()
        wanted = os.environ.get("DEMO_ADMIN_PASSWORD") or None
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            password = wanted or secrets.token_urlsafe(12)
            User.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
            return None if wanted else password
        if wanted and not admin.check_password(wanted):
            admin.set_password(wanted)
            admin.save(update_fields=["password"])
        return None

    @staticmethod
    def _curl_example(base_url, key):
        return "\n".join(
            [
                "Submit an order, then poll it (status goes pending -> processing -> paid):",
                f"  curl -s -X POST {base_url}/api/orders/ \\",
                f"       -H 'Authorization: Token {key}' -H 'Content-Type: application/json' \\",
                """       -d '{"amount": "10.00", "payment_method_nonce": "fake-valid-nonce"}'""",
                f"  curl -s {base_url}/api/orders/<id from the answer>/ -H 'Authorization: Token {key}'",
            ]
        )
