"""State changes of customers and their saved payment methods, one module per concern."""

from payments.customers.services.customers import customer_create
from payments.customers.services.delete import payment_method_delete, payment_method_gateway_delete
from payments.customers.services.reconcile import payment_methods_reconcile
from payments.customers.services.store import payment_method_add, payment_method_give_up, payment_method_store

__all__ = [
    "customer_create",
    "payment_method_add",
    "payment_method_delete",
    "payment_method_gateway_delete",
    "payment_method_give_up",
    "payment_method_store",
    "payment_methods_reconcile",
]
