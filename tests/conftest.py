from devtools.proxy import drop_proxy_variables

# No test talks to anything but this machine, and the braintree SDK would send even its calls to
# the local simulator through an environment's proxy.
drop_proxy_variables()
