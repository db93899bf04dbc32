"""Reading the simulator's ledger (`Simulator.transactions()`: a list of plain dicts)."""

from collections import defaultdict

from payments.core.statuses import TRANSACTION_PAID_STATUSES


def sales(ledger):
    """The sale transactions of a ledger."""
    return [t for t in ledger if t.get("type") == "sale"]


def successful_sales(ledger):
    """Sales that took (or will take) the customer's money."""
    return [t for t in sales(ledger) if t.get("status") in TRANSACTION_PAID_STATUSES]


def successful_sales_by_order(ledger):
    """order id -> its successful sales, for the orders that have any."""
    by_order = defaultdict(list)
    for t in successful_sales(ledger):
        by_order[t.get("order_id")].append(t)
    return dict(by_order)


def credits_of(ledger, sale_id):
    """The refunds (credit transactions) of one sale in a ledger."""
    return [t for t in ledger if t.get("type") == "credit" and t.get("refunded_transaction_id") == sale_id]
