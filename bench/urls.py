"""The service's URLs plus one bench-only endpoint: the floor of an authenticated DRF request.

`GET /bench/bare/` runs the same authentication, permission and throttle classes as the order
API (the project's DRF defaults), reads nothing else and writes nothing: what any API request
costs before it does its own work. Only bench/settings.py routes here.
"""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as service_urlpatterns


class BareView(APIView):
    def get(self, request):
        return Response({"user": request.user.pk})


urlpatterns = [path("bench/bare/", BareView.as_view()), *service_urlpatterns]
