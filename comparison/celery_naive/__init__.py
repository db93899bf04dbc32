# Loaded with Django, so that `.delay()` in the web process publishes through this app's routes.
from comparison.celery_naive.celery_app import app as celery_app

__all__ = ("celery_app",)
