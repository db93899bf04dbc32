"""The client address: X-Forwarded-For counts only from trusted proxies, read from the right."""

import ipaddress

import pytest
from django.test import RequestFactory

from payments.http.proxies import client_ip

PROXIES = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def request_from(peer, forwarded=None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        pytest.param("203.0.113.9", None, "203.0.113.9", id="direct, no header"),
        pytest.param("203.0.113.9", "198.51.100.1", "203.0.113.9", id="untrusted peer: header ignored"),
        pytest.param("203.0.113.9", "10.0.0.1", "203.0.113.9", id="untrusted peer naming a proxy"),
        pytest.param("127.0.0.1", "198.51.100.1", "198.51.100.1", id="one trusted proxy"),
        pytest.param("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1", id="client-written hops ignored"),
        pytest.param("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1", id="two trusted proxies"),
        pytest.param("127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3", id="every hop trusted: the farthest"),
        pytest.param("127.0.0.1", None, "127.0.0.1", id="trusted peer, no header"),
        pytest.param("127.0.0.1", "", "127.0.0.1", id="trusted peer, empty header"),
        pytest.param("127.0.0.1", "198.51.100.1, not-an-ip", "127.0.0.1", id="garbage from the proxy: the proxy"),
        pytest.param("127.0.0.1", "not-an-ip, 198.51.100.1", "198.51.100.1", id="garbage left of the client"),
        pytest.param("::1", "2001:db8::7", "2001:db8::7", id="IPv6"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(settings, peer, forwarded, client):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request_from(peer, forwarded)) == client


def test_without_trusted_proxies_the_socket_address_is_the_client(settings):
    settings.TRUSTED_PROXIES = ()
    assert client_ip(request_from("127.0.0.1", "198.51.100.1")) == "127.0.0.1"
