"""Who the client is: the one rule for the throttles, django-axes and the logs.

`X-Forwarded-For` is believed only when the connecting peer is a trusted proxy (TRUSTED_PROXIES,
addresses or networks). The header is read from the right, where the nearest proxy appended the
address it saw; addresses of trusted proxies are skipped, and the first one that is not trusted
is the client. Anything to its left was written by the client itself and is ignored. From any
other peer the socket's address is the client, whatever the header says, so a client reaching
the web process directly cannot pick its own identity.

Hand-written rather than django-ipware: ipware trusts a proxy named in the header itself, without
asking who is at the other end of the socket, which is the hole this rule closes.
"""

import ipaddress

from django.conf import settings

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address, networks):
    return any(address in network for network in networks)


def client_ip(request):
    """The client's address as a string: the socket's, or what trusted proxies say it was."""
    peer_text = request.META.get("REMOTE_ADDR", "")
    peer = _address(peer_text)
    networks = settings.TRUSTED_PROXIES
    if peer is None or not networks or not _is_trusted(peer, networks):
        return peer_text
    client = peer
    for hop in reversed(request.META.get(FORWARDED_FOR, "").split(",")):
        address = _address(hop)
        if address is None:
            # Not an address a proxy would write: the hops we could vouch for end here.
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)
