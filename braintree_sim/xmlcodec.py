"""Braintree's XML dialect: parse SDK request bodies, render gateway responses.

Requests arrive with underscore tags and ``type`` attributes produced by the SDK's
``util/generator.py``; responses use dashed tags and the ``type``/``nil`` conventions that the
SDK's ``util/parser.py`` understands. Rendering is plain string building because it sits on the
hot path of every request and ElementTree serialisation is several times slower.
"""

from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class MalformedXML(ValueError):
    """The request body is not well-formed XML."""


class DateTime(str):
    """An ISO-8601 UTC timestamp string rendered with ``type="datetime"``."""


class Date(str):
    """A ``YYYY-MM-DD`` date string rendered with ``type="date"``."""


class Array:
    """A list rendered with ``type="array"``, each item wrapped in ``item_tag``."""

    __slots__ = ("item_tag", "items")

    def __init__(self, item_tag, items=()):
        self.item_tag = item_tag
        self.items = list(items)


def parse(body):
    """Parse a request body into ``(root_tag, value)`` using the SDK's type attributes."""
    if not body or not body.strip():
        return None, {}
    try:
        # The SDK never sends a DTD; refusing one rules out entity expansion and external
        # entities from any other client.
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise MalformedXML(str(exc) or type(exc).__name__) from exc
    return _tag(root), _value(root)


def _tag(element):
    return element.tag.replace("-", "_")


def _value(element):
    kind = element.get("type")
    if element.get("nil") == "true":
        return None
    if kind == "array":
        return [_value(child) for child in element]
    children = list(element)
    if children:
        result = {}
        for child in children:
            result[_tag(child)] = _value(child)
        return result
    text = element.text or ""
    if kind == "boolean":
        return text.strip() in ("true", "1")
    if kind == "integer":
        return int(text)
    return text


def render(tag, value):
    """Render ``value`` as a complete response document with root element ``tag``."""
    parts = []
    _render(parts, tag, value)
    return "".join(parts).encode("utf-8")


def _render(parts, tag, value):
    name = tag.replace("_", "-")
    if value is None:
        parts.append(f'<{name} nil="true"/>')
    elif isinstance(value, bool):
        parts.append(f'<{name} type="boolean">{"true" if value else "false"}</{name}>')
    elif isinstance(value, int):
        parts.append(f'<{name} type="integer">{value}</{name}>')
    elif isinstance(value, DateTime):
        parts.append(f'<{name} type="datetime">{value}</{name}>')
    elif isinstance(value, Date):
        parts.append(f'<{name} type="date">{value}</{name}>')
    elif isinstance(value, Array):
        if not value.items:
            parts.append(f'<{name} type="array"/>')
            return
        parts.append(f'<{name} type="array">')
        for item in value.items:
            _render(parts, value.item_tag, item)
        parts.append(f"</{name}>")
    elif isinstance(value, dict):
        parts.append(f"<{name}>")
        for key, child in value.items():
            _render(parts, key, child)
        parts.append(f"</{name}>")
    elif isinstance(value, list):
        # Untyped repeated children, e.g. the transactions of a search page.
        parts.append(f'<{name} type="collection">')
        for child_tag, child in value:
            _render(parts, child_tag, child)
        parts.append(f"</{name}>")
    else:
        parts.append(f"<{name}>{escape(str(value))}</{name}>")


def echo_params(value):
    """Convert parsed request params back into renderable form for ``<params>`` echoes."""
    if isinstance(value, dict):
        return {key: echo_params(child) for key, child in value.items()}
    if isinstance(value, list):
        return Array("item", [echo_params(item) for item in value])
    if value == "":
        return None
    return value
