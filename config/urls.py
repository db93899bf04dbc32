from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Login/logout pages for the browsable API (session auth).
    path("api/auth/", include("rest_framework.urls")),
    path("", include("payments.urls")),
]

# Errors outside DRF views are JSON too (the API contract); see payments/http/errors.py.
handler400 = "payments.http.errors.json_bad_request"
handler403 = "payments.http.errors.json_permission_denied"
handler404 = "payments.http.errors.json_page_not_found"
handler500 = "payments.http.errors.json_server_error"
