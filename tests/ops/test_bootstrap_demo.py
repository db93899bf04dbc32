"""`manage.py bootstrap_demo`: the admin password and the demo token survive later runs; reset on demand."""

import io
import re
import stat
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def bootstrap(*args):
    out = io.StringIO()
    call_command("bootstrap_demo", *args, stdout=out)
    return out.getvalue()


def printed_password(output):
    return re.search(r"user admin password (\S+)", output)[1]


def admin():
    return get_user_model().objects.get(username="admin")


def test_the_first_run_prints_a_generated_password_and_keeps_it_in_the_run_dir(tmp_path, monkeypatch):
    # given no admin yet
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    # when
    output = bootstrap("--run-dir", str(tmp_path))
    # then the password printed works, and the files are private
    password = printed_password(output)
    assert admin().check_password(password)
    assert (tmp_path / "admin-password").read_text().strip() == password
    assert (tmp_path / "demo-token").read_text().strip() in output
    assert stat.S_IMODE((tmp_path / "admin-password").stat().st_mode) == 0o600


def test_a_later_run_keeps_the_password(tmp_path, monkeypatch):
    # given a first run
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    password = printed_password(bootstrap("--run-dir", str(tmp_path)))
    # when make run starts again
    output = bootstrap("--run-dir", str(tmp_path))
    # then the password still works and is still there for the banner
    assert admin().check_password(password)
    assert "make admin-password" in output
    assert (tmp_path / "admin-password").read_text().strip() == password


def test_a_password_changed_in_the_admin_is_kept_and_no_stale_one_is_shown(tmp_path, monkeypatch):
    # given a first run, then the admin chose their own password
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    bootstrap("--run-dir", str(tmp_path))
    user = admin()
    user.set_password("my-own-long-password")
    user.save()
    # when make run starts again
    bootstrap("--run-dir", str(tmp_path))
    # then
    assert admin().check_password("my-own-long-password")
    assert not (tmp_path / "admin-password").exists()


def test_admin_password_resets_and_prints_a_new_one(tmp_path, monkeypatch):
    # given an admin whose password nobody remembers
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    old = printed_password(bootstrap())
    # when `make admin-password` runs
    output = bootstrap("--reset-admin-password", "--run-dir", str(tmp_path))
    # then a new password is printed, works, and replaces the old one
    new = printed_password(output)
    assert new != old
    assert admin().check_password(new) and not admin().check_password(old)
    assert (tmp_path / "admin-password").read_text().strip() == new


def demo_token_works(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/orders/").status_code == 200


def test_a_later_run_keeps_the_demo_token_written_in_the_run_dir(tmp_path):
    # given a first run
    bootstrap("--run-dir", str(tmp_path))
    first = (tmp_path / "demo-token").read_text().strip()
    # when make run starts again
    output = bootstrap("--run-dir", str(tmp_path))
    # then the banner and make demo go on using the same working token, stored only as a digest
    assert (tmp_path / "demo-token").read_text().strip() == first
    assert f"Demo API token (user demo): {first}" in output
    assert demo_token_works(first)
    assert AuthToken.objects.filter(user__username="demo").count() == 1
    assert not AuthToken.objects.filter(digest=first).exists()


def test_an_expired_demo_token_is_replaced_on_the_next_run(tmp_path):
    # given a demo token that has expired since
    bootstrap("--run-dir", str(tmp_path))
    old = (tmp_path / "demo-token").read_text().strip()
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    # when
    bootstrap("--run-dir", str(tmp_path))
    # then
    new = (tmp_path / "demo-token").read_text().strip()
    assert new != old
    assert demo_token_works(new) and not demo_token_works(old)
