from django.apps import AppConfig


class CeleryNaiveConfig(AppConfig):
    name = "comparison.celery_naive"
    label = "celery_naive"
