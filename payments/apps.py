from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"

    def ready(self):
        from payments.core.logs import install_log_filters

        install_log_filters()
        # Celery signal handlers of the metrics (retries, reconciler runs); harmless in the web.
        from payments.ops import signals as metrics_celery  # noqa: F401
