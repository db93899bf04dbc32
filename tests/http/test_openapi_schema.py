"""The OpenAPI schema and Swagger UI, and JSON errors outside DRF views."""

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from payments.orders import api as apis

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_with_every_endpoint(anonymous_client):
    # given / when
    response = anonymous_client.get("/api/schema/", {"format": "json"})

    # then
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {"/api/orders/", "/api/orders/{order_id}/", "/healthz"} <= set(schema["paths"])


def test_schema_documents_every_answer_of_order_creation_and_the_idempotency_header(anonymous_client):
    # given / when
    create = anonymous_client.get("/api/schema/", {"format": "json"}).json()["paths"]["/api/orders/"]["post"]

    # then
    assert set(create["responses"]) == {"202", "400", "401", "409", "413", "415", "422", "429", "503"}
    assert set(create["responses"]["202"]["headers"]) == {"Location", "Idempotent-Replayed"}
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert "Retry-After" in create["responses"]["503"]["headers"]
    headers = [p["name"] for p in create["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    amount = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert amount == "#/components/schemas/OrderCreateInput"


def test_schema_generates_without_warnings(tmp_path):
    # given / when / then: --fail-on-warn turns any generator warning into an error
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_swagger_ui_is_served_with_local_assets(anonymous_client):
    # given / when
    response = anonymous_client.get("/api/docs/")

    # then the page works offline: its assets come from the sidecar package, not a CDN
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in response.content
    assert b"cdn.jsdelivr.net" not in response.content


def test_unknown_url_answers_404_as_json(anonymous_client):
    # given / when
    response = anonymous_client.get("/no-such-page/")

    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unexpected_error_answers_500_as_json_without_details(api_client, monkeypatch):
    # given a selector that blows up with an internal message
    def broken(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(apis, "order_list_visible_to", broken)
    api_client.raise_request_exception = False

    # when
    response = api_client.get("/api/orders/")

    # then
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert b"secret" not in response.content
