"""The customers API, and POST /api/orders/ with a saved payment method: owner scoping, field
messages, and the token and nonce never in an answer."""

import pytest

from payments.core.statuses import PaymentMethodStatus
from payments.models import Customer, Order, PaymentMethod
from tests.factories import CustomerFactory, PaymentMethodFactory, UserFactory
from tests.fixtures.api import client_for

pytestmark = pytest.mark.django_db


def test_create_customer_answers_201_and_lists_it(api_client, user):
    # when
    response = api_client.post("/api/customers/", {"email": "ada@example.com", "reference": "u-1"}, format="json")
    # then
    assert response.status_code == 201
    customer = Customer.objects.get()
    assert customer.owner == user
    assert response.json() == {
        "id": str(customer.pk), "email": "ada@example.com", "reference": "u-1",
        "created_at": response.json()["created_at"],
    }
    listed = api_client.get("/api/customers/").json()
    assert [c["id"] for c in listed["results"]] == [str(customer.pk)]


def test_saving_a_payment_method_answers_202_pending_without_token_or_nonce(api_client, user, published, committed):
    # given
    customer = CustomerFactory(owner=user)
    # when
    with committed():
        response = api_client.post(
            f"/api/customers/{customer.pk}/payment-methods/", {"payment_method_nonce": "fake-valid-nonce"}, format="json"
        )
    # then
    assert response.status_code == 202
    method = PaymentMethod.objects.get()
    body = response.json()
    assert (body["id"], body["status"]) == (str(method.pk), "pending")
    assert response["Location"].endswith(f"/api/customers/{customer.pk}/payment-methods/{method.pk}/")
    assert "fake-valid-nonce" not in response.content.decode()
    assert method.gateway_token not in response.content.decode()
    assert published == [("store_payment_method_task", str(method.pk))]


def test_another_users_customer_and_method_answer_404(api_client):
    # given
    method = PaymentMethodFactory()
    customer = method.customer
    # then
    assert api_client.get(f"/api/customers/{customer.pk}/").status_code == 404
    assert api_client.get(f"/api/customers/{customer.pk}/payment-methods/").status_code == 404
    assert api_client.get(f"/api/customers/{customer.pk}/payment-methods/{method.pk}/").status_code == 404
    assert api_client.delete(f"/api/customers/{customer.pk}/payment-methods/{method.pk}/").status_code == 404
    assert PaymentMethod.objects.get().status == PaymentMethodStatus.ACTIVE


def test_delete_answers_202_and_the_method_is_deleted_at_once(api_client, user, published, committed):
    # given
    method = PaymentMethodFactory(customer=CustomerFactory(owner=user))
    # when
    with committed():
        response = api_client.delete(f"/api/customers/{method.customer.pk}/payment-methods/{method.pk}/")
    # then
    assert response.status_code == 202
    assert response.json()["status"] == "deleted"
    assert published == [("delete_payment_method_task", str(method.pk))]
    # and: gone from the API, like an unknown id
    path = f"/api/customers/{method.customer.pk}/payment-methods/"
    assert api_client.get(f"{path}{method.pk}/").status_code == 404
    assert api_client.get(path).json()["results"] == []


def test_an_order_on_an_active_saved_method_is_accepted(api_client, user, published, committed):
    # given
    method = PaymentMethodFactory(customer=CustomerFactory(owner=user))
    # when
    with committed():
        response = api_client.post("/api/orders/", {"amount": "10.00", "payment_method": str(method.pk)}, format="json")
    # then
    assert response.status_code == 202
    order = Order.objects.get()
    assert (order.payment_method_id, order.payment_method_nonce) == (method.pk, "")
    assert published == [("charge_order_task", str(order.pk))]
    # and the answer names the method the order is charged on
    assert response.json()["payment_method"] == str(method.pk)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("pending", "This payment method is still being stored; wait until it is active."),
        ("failed", "This payment method could not be stored (see its failure_reason)."),
        ("deleted", "This payment method was deleted."),
    ],
)
def test_an_order_on_a_method_that_is_not_active_is_refused_with_a_field_message(api_client, user, status, message):
    # given
    method = PaymentMethodFactory(customer=CustomerFactory(owner=user), status=status)
    # when
    response = api_client.post("/api/orders/", {"amount": "10.00", "payment_method": str(method.pk)}, format="json")
    # then: well formed, about the wrong thing
    assert response.status_code == 422
    assert response.json() == {"payment_method": [message]}
    assert not Order.objects.exists()


def test_another_users_method_reads_as_not_found_and_cannot_be_charged(api_client):
    # given
    method = PaymentMethodFactory()
    # when
    response = api_client.post("/api/orders/", {"amount": "10.00", "payment_method": str(method.pk)}, format="json")
    # then
    assert response.status_code == 422
    assert response.json() == {"payment_method": ["No payment method with this id."]}
    assert not Order.objects.exists()


def test_both_or_neither_way_to_pay_is_refused(api_client, user):
    # given
    method = PaymentMethodFactory(customer=CustomerFactory(owner=user))
    # when
    both = api_client.post(
        "/api/orders/",
        {"amount": "10.00", "payment_method": str(method.pk), "payment_method_nonce": "fake-valid-nonce"},
        format="json",
    )
    neither = api_client.post("/api/orders/", {"amount": "10.00"}, format="json")
    # then
    assert both.status_code == 400 and set(both.json()) == {"payment_method", "payment_method_nonce"}
    assert neither.status_code == 400 and neither.json() == {"payment_method_nonce": ["This field is required."]}


def test_an_idempotent_replay_naming_another_method_is_refused(user, published, committed):
    # given
    client = client_for(user)
    customer = CustomerFactory(owner=user)
    first, second = PaymentMethodFactory(customer=customer), PaymentMethodFactory(customer=customer)
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    with committed():
        accepted = client.post("/api/orders/", {"amount": "10.00", "payment_method": str(first.pk)}, format="json", **headers)
    # when
    replay = client.post("/api/orders/", {"amount": "10.00", "payment_method": str(first.pk)}, format="json", **headers)
    other = client.post("/api/orders/", {"amount": "10.00", "payment_method": str(second.pk)}, format="json", **headers)
    # then
    assert (accepted.status_code, replay.status_code, other.status_code) == (202, 202, 422)
    assert replay.json()["id"] == accepted.json()["id"]
    assert Order.objects.count() == 1


def test_another_user_gets_404_on_the_customers_of_a_user(user):
    # given
    customer = CustomerFactory(owner=user)
    stranger = client_for(UserFactory())
    # then
    assert stranger.get(f"/api/customers/{customer.pk}/").status_code == 404
    assert stranger.get("/api/customers/").json()["results"] == []


def test_a_replay_of_a_finished_order_on_a_method_deleted_since_answers_the_order(user, published, committed):
    # given: an order accepted on a method, then the method deleted
    client = client_for(user)
    method = PaymentMethodFactory(customer=CustomerFactory(owner=user))
    body, headers = {"amount": "10.00", "payment_method": str(method.pk)}, {"HTTP_IDEMPOTENCY_KEY": "k-2"}
    with committed():
        accepted = client.post("/api/orders/", body, format="json", **headers)
    PaymentMethod.objects.filter(pk=method.pk).update(status=PaymentMethodStatus.DELETED)
    # when
    replay = client.post("/api/orders/", body, format="json", **headers)
    fresh = client.post("/api/orders/", body, format="json")
    # then
    assert (replay.status_code, replay.json()["id"]) == (202, accepted.json()["id"])
    assert (fresh.status_code, fresh.json()) == (422, {"payment_method": ["This payment method was deleted."]})
