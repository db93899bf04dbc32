import os

# The braintree SDK forces the environment's proxies onto every request, which breaks plain-HTTP
# calls to the local simulator; no test talks to anything but this machine.
for _name in ("http_proxy", "HTTP_PROXY"):
    os.environ.pop(_name, None)
