from devtools.proxy import drop_proxy_variables

# No test talks to anything but this machine, and the braintree SDK would send even its calls to
# the local simulator through an environment's proxy.
drop_proxy_variables()

# Fixtures shared across capability folders: API clients and a reachable or failing broker
# (api), the in-process fake gateway and captured publishes (services), and the real pipeline of
# simulator and worker processes (pipeline).
pytest_plugins = ["tests.fixtures.api", "tests.fixtures.services", "tests.fixtures.pipeline"]
