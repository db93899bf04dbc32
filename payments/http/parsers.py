"""Request parsing shared by the API views: size-bounded JSON and form parsers, and the Idempotency-Key header."""

import codecs
import io
import json

from django.conf import settings
from django.http import QueryDict
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

from payments.http.errors import RequestBodyTooLarge
from payments.models import Order

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = Order._meta.get_field("idempotency_key").max_length


def read_bounded(stream, parser_context, limit):
    """The body, at most `limit` bytes, else RequestBodyTooLarge (413).

    Refuses on the declared length before reading, and reads at most one byte past the limit in
    case the declaration is missing or wrong.
    """
    request = (parser_context or {}).get("request")
    declared = request.META.get("CONTENT_LENGTH") if request is not None else None
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestBodyTooLarge(limit)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestBodyTooLarge(limit)
    return body


class DuplicateKey(Exception):
    """A JSON object named `key` twice."""

    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs):
    """json's object hook: the object as a dict, unless a key repeats.

    The stdlib keeps the last of two equal keys, so `{"amount": "1.00", "amount": "5000.00"}`
    would be read as 5000.00 by this service and as 1.00 by a proxy or log reader that keeps the
    first: the body must say one thing.
    """
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(key)
        obj[key] = value
    return obj


class BoundedJSONParser(JSONParser):
    """JSON parser that enforces DATA_UPLOAD_MAX_MEMORY_SIZE and refuses duplicate keys (400).

    DRF hands a JSONParser `request.body`, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE
    (RequestDataTooBig, answered 413 by payments/http/errors.py); the bounded read here keeps the
    limit wherever the parser is handed a raw stream instead.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            stream = io.BytesIO(read_bounded(stream, parser_context, limit))
        try:
            text = codecs.getreader(get_encoding(parser_context or {}))(stream).read()
            return json.loads(
                text,
                parse_constant=strict_constant if self.strict else None,
                object_pairs_hook=_refuse_duplicate_keys,
            )
        except DuplicateKey as exc:
            raise ValidationError(
                {exc.key: ["This field appears more than once in the JSON body; send it once."]}
            ) from exc
        except RecursionError as exc:
            # A small body can still nest deeper than the decoder's recursion limit ("[[[[...").
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class BoundedFormParser(BaseParser):
    """A form parser (application/x-www-form-urlencoded) with its view's own body limit.

    For endpoints whose callers send more than the API's DATA_UPLOAD_MAX_MEMORY_SIZE (Braintree's
    webhook notifications): the view names the setting that holds its limit in
    `max_body_bytes_setting`. Not a subclass of DRF's FormParser on purpose: DRF hands its own
    parsers `request.body`, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE first.
    """

    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        view = parser_context.get("view")
        limit = getattr(settings, getattr(view, "max_body_bytes_setting", "DATA_UPLOAD_MAX_MEMORY_SIZE"))
        body = read_bounded(stream, parser_context, limit) if stream is not None else b""
        return QueryDict(body, encoding=get_encoding(parser_context))


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
