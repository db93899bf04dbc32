"""`manage.py bootstrap_demo`: the demo API client and an admin login for `make run`. Idempotent.

The admin password is generated once (or taken from DEMO_ADMIN_PASSWORD) and never changed by a
later run, so a password an admin chose survives restarts; `--reset-admin-password` (`make
admin-password`) sets a new one and prints it. With `--run-dir`, the demo token and a generated
password are also written there (mode 0600, `.run/` is git-ignored) for the banner `make run`
prints last and for `make demo`: development credentials only, for the local simulator stack.

The database keeps only a digest of an API token, so the demo token can be shown again only from
`--run-dir`: a later run keeps the token written there while it still works, and otherwise
(expired, revoked, no run dir) issues a new one, which ends the demo user's older tokens.
"""

import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from payments.tokens.services import api_token_is_valid, api_token_rotate

DEMO_USERNAME = "demo"
ADMIN_USERNAME = "admin"
TOKEN_FILE = "demo-token"
PASSWORD_FILE = "admin-password"


def write_private(path, text):
    """Write `text` to `path` readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / ".gitignore").write_text("*\n")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")


class Command(BaseCommand):
    help = "Create (once) the demo API user and token and the admin superuser; print a curl example."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="where the web process listens"
        )
        parser.add_argument(
            "--reset-admin-password",
            action="store_true",
            help="set a new admin password (DEMO_ADMIN_PASSWORD, or a generated one) and print it",
        )
        parser.add_argument(
            "--run-dir", default=None, help=f"also write {TOKEN_FILE} and a generated {PASSWORD_FILE} here"
        )

    def handle(self, *args, base_url, reset_admin_password=False, run_dir=None, **options):
        base_url = base_url.rstrip("/")
        run_dir = Path(run_dir) if run_dir else None
        with transaction.atomic():
            token = self._demo_token(run_dir)
            admin_password = self._admin_password(reset=reset_admin_password)
            if run_dir is not None:
                self._keep_files(run_dir, token, admin_password)

        if reset_admin_password:
            self.stdout.write(f"Admin login: {base_url}/admin/ user {ADMIN_USERNAME} password {admin_password}")
            return
        self.stdout.write(f"Demo API token (user {DEMO_USERNAME}): {token}")
        if admin_password is not None:
            # Printed when it was generated; with --run-dir also kept in run_dir for the banner.
            self.stdout.write(
                f"Admin login: {base_url}/admin/ user {ADMIN_USERNAME} password {admin_password}"
            )
        else:
            source = "DEMO_ADMIN_PASSWORD"
            if not os.environ.get("DEMO_ADMIN_PASSWORD"):
                source = "unchanged; `make admin-password` resets and prints it"
            self.stdout.write(f"Admin login: {base_url}/admin/ user {ADMIN_USERNAME} (password: {source})")
        self.stdout.write(self._curl_example(base_url, token))

    def _demo_token(self, run_dir):
        """The demo user's token: the one kept in `run_dir` while it works, else a new one."""
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        if created:
            # An API client, not a person: it authenticates with its token only.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        kept = run_dir / TOKEN_FILE if run_dir is not None else None
        if kept is not None and kept.exists():
            key = kept.read_text().strip()
            if key and api_token_is_valid(user, key):
                return key
        return api_token_rotate(user)

    def _admin_password(self, reset=False):
        """Set the admin password from DEMO_ADMIN_PASSWORD, or generate one for a new admin.

        Returns the password only when it was generated (or reset) here, so it can be shown.
        """
        User = get_user_model()
        wanted = os.environ.get("DEMO_ADMIN_PASSWORD") or None
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            password = wanted or secrets.token_urlsafe(12)
            User.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
            return None if wanted else password
        if reset:
            password = wanted or secrets.token_urlsafe(12)
            admin.set_password(password)
            # A reset admin that was locked out or demoted is usable again.
            admin.is_active = admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["password", "is_active", "is_staff", "is_superuser"])
            return password
        if wanted and not admin.check_password(wanted):
            admin.set_password(wanted)
            admin.save(update_fields=["password"])
        return None

    def _keep_files(self, run_dir, token_key, admin_password):
        write_private(run_dir / TOKEN_FILE, token_key)
        password_path = run_dir / PASSWORD_FILE
        if admin_password is not None:
            write_private(password_path, admin_password)
            return
        admin = get_user_model().objects.get(username=ADMIN_USERNAME)
        if password_path.exists() and not admin.check_password(password_path.read_text().strip()):
            # Changed since (in the admin, or from DEMO_ADMIN_PASSWORD): never show a stale one.
            password_path.unlink()

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
