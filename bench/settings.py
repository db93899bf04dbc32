"""Settings of the API benchmark's gunicorn only: the test settings plus bench/urls.py.

Selected by DJANGO_SETTINGS_MODULE=bench.settings in bench/api_latency.py's web process; no
service process and no other settings module can reach the bench-only URL.
"""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
