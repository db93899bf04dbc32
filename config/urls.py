from csp import constants as csp
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script served as a file (`?script`), as the Content-Security-
    # Policy runs no inline script; its page keeps three lines of inline style, allowed here only.
    path(
        "api/docs/",
        csp_update({"style-src": [csp.UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="docs",
    ),
    # Login/logout pages for the browsable API (session auth).
    path("api/auth/", include("rest_framework.urls")),
    path("", include("payments.urls")),
]

# Errors outside DRF views are JSON too (the API contract); see payments/http/errors.py.
handler400 = "payments.http.errors.json_bad_request"
handler403 = "payments.http.errors.json_permission_denied"
handler404 = "payments.http.errors.json_page_not_found"
handler500 = "payments.http.errors.json_server_error"
