"""Readers and measures behind the security settings: trusted proxies and the signing key's strength.

Kept apart from config/env.py (the generic readers) because production refuses to start on what
these say (config/settings/production.py), and docs/security.md explains each refusal.
"""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from config.env import comma_list, env

# The one spelling of "clients connect to the web process directly, no proxy in front".
NO_PROXIES = "none"
# zxcvbn's estimate of the guesses an attacker needs, as a power of ten: 10**40 is about 2**133.
# A random key of 50 characters scores about 50; a pattern such as "abcde" * 10 about 2.
SECRET_KEY_MIN_GUESSES_LOG10 = 40
# zxcvbn's matching is quadratic in the length; a prefix this long that is strong is enough.
SECRET_KEY_MEASURED_CHARACTERS = 128


def trusted_proxies(name, default=()):
    """The networks of the proxies allowed to say who the client is (`X-Forwarded-For`).

    A comma-separated list of addresses or networks (`127.0.0.1`, `10.0.0.0/8`, `::1`), or
    `none`. Returns a tuple of `ip_network`s, or None when the variable is unset and there is no
    default (production requires an explicit answer).
    """
    raw = env.str(name, default=None)
    if raw is None:
        return None if default is None else tuple(default)
    items = comma_list(name, default=[])
    if [item.lower() for item in items] == [NO_PROXIES]:
        return ()
    networks = []
    for item in items:
        try:
            # strict=False: "10.0.0.1/8" means the network 10.0.0.0/8, as the operator meant.
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network; use e.g. 127.0.0.1,10.0.0.0/8, or {NO_PROXIES}"
            ) from exc
    if not networks:
        raise ImproperlyConfigured(f"{name} names no address; use e.g. 127.0.0.1, or {NO_PROXIES}")
    return tuple(networks)


def secret_key_guesses_log10(key):
    """How many guesses (a power of ten) zxcvbn estimates a key needs: repeats and sequences score low."""
    # Imported here: only production settings measure the key, and the dictionaries take ~25 ms.
    from zxcvbn import zxcvbn

    sample = key[:SECRET_KEY_MEASURED_CHARACTERS]
    return zxcvbn(sample, max_length=len(sample))["guesses_log10"]
