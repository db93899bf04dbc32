"""Request parsing shared by the API views: a size-bounded JSON parser and the Idempotency-Key header."""

import io

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from payments.http.errors import RequestBodyTooLarge
from payments.models import Order

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = Order._meta.get_field("idempotency_key").max_length


class BoundedJSONParser(JSONParser):
    """JSON parser that enforces DATA_UPLOAD_MAX_MEMORY_SIZE.

    DRF reads the WSGI stream itself, so Django's own limit (checked only by `request.body` and
    `request.POST`) never applies to JSON bodies. Refuse on the declared length before reading,
    and read at most one byte past the limit in case the declaration is missing or wrong.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            request = (parser_context or {}).get("request")
            declared = request.META.get("CONTENT_LENGTH") if request is not None else None
            if declared and declared.isdigit() and int(declared) > limit:
                raise RequestBodyTooLarge()
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise RequestBodyTooLarge()
            stream = io.BytesIO(body)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # A small body can still nest deeper than the decoder's recursion limit ("[[[[...").
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


def idempotency_key_from(request):
    """The request's Idempotency-Key header, or None; a 400 naming the header when unusable."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not key.strip():
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: ["The Idempotency-Key header must not be blank."]})
    if not all(" " <= char <= "~" for char in key):
        # Visible ASCII only, as HTTP header values should be; it also keeps NUL bytes, which
        # PostgreSQL text cannot hold, away from the database.
        raise ValidationError(
            {IDEMPOTENCY_KEY_HEADER: ["The Idempotency-Key header may contain only printable ASCII characters."]}
        )
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError(
            {
                IDEMPOTENCY_KEY_HEADER: [
                    f"The Idempotency-Key header must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} "
                    f"characters long (got {len(key)})."
                ]
            }
        )
    return key
