"""Every error of the API and of /healthz is JSON, with DEBUG on or off.

With DEBUG on Django answers an unknown URL (`/api/orders/abc/`, whose id is not a UUID) or an
unhandled exception with its HTML debug page, because `handler404`/`handler500` only apply with
DEBUG off. This middleware replaces such an HTML error page with the same JSON the handlers give.
Pages meant for people keep their HTML: the admin, the API docs and the browsable API's login,
and DRF's own responses (the browsable API renders its errors for a browser on purpose).
"""

from django.conf import settings
from django.http import JsonResponse
from rest_framework.response import Response

from payments.exceptions import (
    json_bad_request,
    json_page_not_found,
    json_permission_denied,
    json_server_error,
)

HTML_PREFIXES = ("/admin/", "/api/docs/", "/api/auth/")

_JSON_ANSWERS = {400: json_bad_request, 403: json_permission_denied, 404: json_page_not_found}


def _html_prefixes():
    return tuple(getattr(settings, "JSON_ERRORS_HTML_PREFIXES", HTML_PREFIXES))


class JSONErrorsMiddleware:
    """Turn a Django HTML error page (4xx/5xx) outside the people-facing pages into JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or isinstance(response, Response):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        if request.path.startswith(_html_prefixes()):
            return response
        if response.status_code >= 500:
            return json_server_error(request)
        answer = _JSON_ANSWERS.get(response.status_code)
        if answer is not None:
            return answer(request)
        # Other codes (405 from a plain Django view, 413...) keep their status, in JSON.
        return JsonResponse({"detail": f"{response.reason_phrase}."}, status=response.status_code)
