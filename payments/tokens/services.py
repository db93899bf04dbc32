"""API tokens: issue, rotate and revoke. Every change to a user's tokens goes through here.

A token is django-rest-knox's: 256 random bits shown once, at issue; the database keeps a SHA-512
digest (and its first characters, to find the row), never the key, and an expiry
API_TOKEN_TTL_DAYS after issue. Clients send it as `Authorization: Token <key>`.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.exceptions import AuthenticationFailed

from payments.tokens.authentication import ApiTokenAuthentication


def api_token_issue(user):
    """A new token of `user`, beside any they have; returns the key, which exists nowhere else."""
    _, key = AuthToken.objects.create(user=user)
    return key


def api_token_revoke(user, *, grace=timedelta(0)):
    """End `user`'s tokens: at once, or `grace` from now (never later than each one's own expiry).

    Returns how many tokens were ended or shortened.
    """
    tokens = AuthToken.objects.filter(user=user)
    if not grace:
        return tokens.delete()[0]
    until = timezone.now() + grace
    shortened = tokens.filter(expiry__gt=until).update(expiry=until)
    return shortened + tokens.filter(expiry__isnull=True).update(expiry=until)


def api_token_rotate(user, *, grace=timedelta(0)):
    """Replace `user`'s tokens with a new one; the old ones end at once or after `grace`.

    One transaction: the new key exists before the old ones stop working.
    """
    with transaction.atomic():
        api_token_revoke(user, grace=grace)
        return api_token_issue(user)


def api_token_is_valid(user, key):
    """Whether `key` is a live token of `user` (compared by digest, as authentication does)."""
    try:
        owner, _ = ApiTokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return False
    return owner.pk == user.pk
