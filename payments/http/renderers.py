"""The browsable API under the service's own name (DRF's page says "Django REST framework")."""

from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer


class PaymentsBrowsableAPIRenderer(BrowsableAPIRenderer):
    template = "payments/browsable_api.html"


# DRF's default pair, with the renamed browsable page: JSON first, so clients get JSON by default.
API_RENDERERS = [JSONRenderer, PaymentsBrowsableAPIRenderer]
