"""/metrics and the ops dashboard against the real processes: gunicorn, workers, the simulator.

The stack shares one PROMETHEUS_MULTIPROC_DIR between gunicorn and the Celery workers, as one
host would, so the web's /metrics carries the workers' gateway, retry and reconciler metrics.
The dashboard is loaded in Debian's chromium through Playwright; that test is skipped (with the
install lines) only where /usr/bin/chromium is absent.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from celery_app import app as celery_app
from devtools.ledger import sales
from devtools.polling import wait_for_api_order, wait_until
from devtools.settings import FAST_SETTINGS
from devtools.sim import SALE_REQUESTS
from devtools.stack import (
    REPO_ROOT,
    RedisServer,
    Simulator,
    WebServer,
    Worker,
    environment,
    http_request,
    start_together,
    stop_together,
)
from payments.core.statuses import OrderStatus
from payments.models import Order
from payments.tasks import reconcile_orders_task
from payments.tokens.services import api_token_issue
from tests.factories import OrderFactory, UserFactory
from tests.fixtures.api import token_user
from tests.tools import require_program

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_RETRIES = FAST_SETTINGS["PAYMENTS_MAX_RETRIES"]
CHROMIUM = "/usr/bin/chromium"
# The docs show what this test sees (docs/how-to/dashboard.md, docs/tutorial/getting-started.md).
SCREENSHOTS = REPO_ROOT / "docs" / "assets"


class Stack:
    def __init__(self, web, sim, broker_url):
        self.web, self.sim, self.broker_url = web, sim, broker_url

    def metrics(self):
        status, headers, text = http_request("GET", f"{self.web.url}/metrics")
        assert status == 200, text
        assert headers["content-type"].startswith("text/plain")
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return found

    def submit(self, token, amount):
        status, _, body = http_request(
            "POST", f"{self.web.url}/api/orders/", body={"amount": amount, "payment_method_nonce": "fake-valid-nonce"},
            headers={"Authorization": f"Token {token}"},
        )
        assert status == 202, body
        return body["id"]

    def final(self, token, order_id, timeout=30):
        return wait_for_api_order(self.web.url, token, order_id, timeout=timeout)

    def reconcile(self):
        with celery_app.connection_for_write(self.broker_url) as conn:
            reconcile_orders_task.apply_async(connection=conn)


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0.0)


def total(found, name, **labels):
    """Sum of every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in found.items() if n == name and wanted <= lbls)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ops-views")
    multiproc_dir = run_dir / "prometheus"
    multiproc_dir.mkdir()
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    with RedisServer(run_dir=run_dir) as redis_server, Simulator(run_dir=run_dir) as sim:
        env = environment(
            db_name=db_name, broker_url=redis_server.url(0), simulator_url=sim.url,
            extra={**FAST_SETTINGS, "PROMETHEUS_MULTIPROC_DIR": multiproc_dir, "METRICS_TOKEN": None},
        )
        web = WebServer(env=env, run_dir=run_dir)
        processes = [
            # Each with its liveness heartbeat, as deployed: the dashboard shows what it says.
            Worker(name="payments", queues="payments", concurrency=2, run_dir=run_dir,
                   env={**env, "PAYMENTS_WORKER_HEARTBEAT_FILE": str(run_dir / "payments.heartbeat")}),
            Worker(name="maintenance", queues="default,maintenance", run_dir=run_dir,
                   env={**env, "PAYMENTS_WORKER_HEARTBEAT_FILE": str(run_dir / "maintenance.heartbeat")}),
            web,
        ]
        try:
            start_together(processes)
            yield Stack(web=web, sim=sim, broker_url=redis_server.url(0))
        finally:
            stop_together(processes)
            sim.set_faults({})


@pytest.fixture
def token():
    return api_token_issue(UserFactory())


def test_metrics_after_real_workers_match_the_database_and_the_gateway_ledger(stack, token):
    # given orders driven through the real workers: three approved, two declined ...
    stack.sim.reset()
    before = stack.metrics()
    for amount in ("10.00", "11.00", "12.00", "2000.00", "2000.00"):
        stack.final(token, stack.submit(token, amount))
    # ... one whose every sale answers 503, so that it ends in needs_review after the retries ...
    stack.sim.set_faults({"rules": [{"kind": "error", "status": 503, **SALE_REQUESTS}]})
    parked = stack.final(token, stack.submit(token, "13.00"))
    stack.sim.set_faults({})
    # ... and one left pending long ago (its publish lost), which the reconciler re-sends
    stuck = OrderFactory(owner=token_user(token), amount="14.00")
    Order.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    asked_at = timezone.now()
    stack.reconcile()
    stack.final(token, str(stuck.pk))

    # when the web's /metrics is scraped (after the reconciler's heartbeat landed)
    def scrape_after_heartbeat():
        found = stack.metrics()
        return found if value(found, "payments_reconciler_last_run_timestamp_seconds") else None

    found = wait_until(scrape_after_heartbeat, timeout=15, desc="the reconciler's heartbeat in /metrics")

    # then the gauges are the database's counts
    assert parked["status"] == "needs_review"
    for status in OrderStatus.values:
        assert value(found, "payments_orders", status=status) == Order.objects.filter(status=status).count()
    assert value(found, "payments_orders", status="paid") == 4
    assert value(found, "payments_orders", status="failed") == 2
    assert value(found, "payments_orders_needs_review") == 1
    assert value(found, "payments_oldest_pending_order_age_seconds") == 0
    assert value(found, "payments_reconciler_last_run_timestamp_seconds") >= asked_at.timestamp() - 1

    def delta(name, **labels):
        return total(found, name, **labels) - total(before, name, **labels)

    # the workers' gateway metrics reached the web through the shared directory, and every sale
    # the gateway answered is one the simulator's ledger holds
    ledger_sales = len(sales(stack.sim.transactions()))
    answered = delta("payments_gateway_requests_total", call="sale") - delta(
        "payments_gateway_requests_total", call="sale", outcome="unavailable"
    )
    assert ledger_sales == 6
    assert answered == ledger_sales
    assert delta("payments_gateway_requests_total", call="sale", outcome="approved") == 4
    assert delta("payments_gateway_requests_total", call="sale", outcome="declined") == 2
    assert delta("payments_gateway_requests_total", call="sale", outcome="unavailable") == MAX_RETRIES + 1
    assert delta("payments_gateway_request_duration_seconds_count", call="sale") == ledger_sales + MAX_RETRIES + 1
    assert delta("payments_gateway_request_duration_seconds_count", call="find") == delta(
        "payments_gateway_requests_total", call="find"
    ) >= 4
    # retries, time to a final status, and what the reconciler did
    assert delta("payments_task_retries_total", task="payments.tasks.charge_order_task") == MAX_RETRIES
    assert delta("payments_order_time_to_final_seconds_count", status="paid") == 4
    assert delta("payments_order_time_to_final_seconds_count", status="failed") == 2
    assert delta("payments_reconciled_orders_total", kind="charge") == 1
    # and django-prometheus saw the API's requests
    assert delta("django_http_requests_total_by_method_total", method="POST") == 6


def test_metrics_refuse_a_scrape_without_the_token_when_one_is_set(stack):
    # given a second web process of the same stack with METRICS_TOKEN set
    secret = "s3cret-metrics-token"
    with WebServer(env={**stack.web.env, "METRICS_TOKEN": secret}, run_dir=stack.web.run_dir) as web:
        # when
        missing, _, _ = http_request("GET", f"{web.url}/metrics")
        wrong, _, _ = http_request("GET", f"{web.url}/metrics", headers={"Authorization": "Bearer nope"})
        right, _, text = http_request("GET", f"{web.url}/metrics", headers={"Authorization": f"Bearer {secret}"})
    # then
    assert (missing, wrong, right) == (401, 403, 200)
    assert "payments_orders" in text


def chromium_or_skip():
    require_program(CHROMIUM, "`make browser-deps` (apt-get install --no-install-recommends chromium)")
    from playwright import sync_api

    return sync_api


def serve_static(route):
    """Answer a browser's /static/ request from the installed apps' static files, as a proxy would."""
    from django.contrib.staticfiles import finders

    found = finders.find(urlsplit(route.request.url).path.removeprefix("/static/"))
    if found:
        route.fulfill(path=found)
    else:
        route.fulfill(status=404, body="")


def wait_in_page(page, expression, timeout=15):
    """Poll a JavaScript expression until it is true. Not wait_for_function: Playwright evaluates
    its predicate with eval(), which the page's Content-Security-Policy refuses, as it should."""
    wait_until(lambda: page.evaluate(expression), timeout=timeout, interval=0.1, desc=expression)


def test_dashboard_in_a_real_browser_shows_what_the_database_holds(stack, token):
    sync_api = chromium_or_skip()
    # given finished orders (one paid then refunded in full, one declined), one whose every sale
    # answered 503 until it was parked, one parked by hand, and staff who may see and refund orders
    stack.sim.reset()
    paid = stack.final(token, stack.submit(token, "10.00"))
    declined = stack.final(token, stack.submit(token, "2000.00"))
    refunded = stack.final(token, stack.submit(token, "12.00"))
    stack.sim.set_faults({"rules": [{"kind": "error", "status": 503, **SALE_REQUESTS}]})
    unavailable = stack.final(token, stack.submit(token, "13.00"))
    stack.sim.set_faults({})
    status, _, _ = http_request(
        "POST", f"{stack.web.url}/api/orders/{refunded['id']}/refunds/", body={},
        headers={"Authorization": f"Token {token}"},
    )
    assert status == 202
    wait_until(lambda: Order.objects.filter(pk=refunded["id"], status=OrderStatus.REFUNDED).exists(), timeout=20,
               desc="the full refund (a void)")
    parked = OrderFactory(status=OrderStatus.NEEDS_REVIEW, failure_reason="Gave up after 3 retries: 503")
    staff = UserFactory(username="ops", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="payments", codename__in=["view_order", "refund_order"])
    )
    live_password = "ops-dashboard-pw-1"
    staff.set_password(live_password)
    staff.save()
    # Read before the browser starts: Playwright's sync API runs an event loop in this thread,
    # where Django refuses database calls.
    assert (paid["status"], declined["status"], unavailable["status"]) == ("paid", "failed", "needs_review")
    in_db = {status: Order.objects.filter(status=status).count() for status in OrderStatus.values}
    changelist = "/admin/payments/order/"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # gunicorn serves no static files (a deployment's proxy does): the admin's come from here.
            page.route("**/static/**", serve_static)
            # when an anonymous visitor opens / they land on the admin login, and after it on the dashboard
            page.goto(f"{stack.web.url}/")
            assert "/admin/login/" in page.url
            page.fill("#id_username", "ops")
            page.fill("#id_password", live_password)
            page.click("input[type=submit]")
            page.wait_for_url(f"{stack.web.url}/")
            page.wait_for_selector("body[data-rendered-at]")
            # and it refreshes itself from the JSON endpoint
            first = page.get_attribute("body", "data-rendered-at")
            wait_in_page(page, f"document.body.dataset.renderedAt !== {first!r}")

            # then the tiles are the database's counts, each a link to the order list in that status
            for status in OrderStatus.values:
                shown = page.inner_text(f'[data-status="{status}"]').replace(",", "")
                assert int(shown) == in_db[status], status
                assert page.get_attribute(f"#tile-{status}", "href") == f"{changelist}?status__exact={status}"
            assert [page.inner_text(f'[data-status="{s}"]') for s in ("paid", "failed", "refunded")] == ["1", "1", "1"]
            assert page.inner_text("#review-count") == "2"
            # each worker answered over the broker: its queues, liveness from its heartbeat, work done
            workers = {row.get_attribute("data-worker").split("@")[0]: row.inner_text()
                       for row in page.locator("#workers tr[data-worker]").all()}
            assert set(workers) == {"payments", "maintenance"}
            assert "live" in workers["payments"] and "payments" in workers["payments"]
            assert "default, maintenance" in workers["maintenance"]
            assert int(page.inner_text('#workers tr[data-worker^="payments@"] td.processed')) >= 8
            # money today: both sales paid, the refunded one back
            assert page.inner_text('#money tr[data-currency="USD"] td.paid') == "22.00 (2)"
            assert page.inner_text('#money tr[data-currency="USD"] td.refunded') == "12.00 (1)"
            # the 503s are one row, for their order, with the SDK's error and the tries it took
            errors = page.locator("#gateway-errors tr[data-order]")
            assert errors.count() == 1
            assert errors.first.get_attribute("data-order") == unavailable["id"]
            row = errors.first.inner_text()
            assert f"attempt {MAX_RETRIES + 1} of {MAX_RETRIES + 1}" in row and "needs review" in row
            assert "ServiceUnavailableError" in row
            # the parked orders link into the admin
            link = page.locator("#needs-review a", has_text=str(parked.pk)[:8])
            assert link.get_attribute("href") == f"/admin/payments/order/{parked.pk}/change/"
            assert "Gave up after 3 retries" in page.inner_text("#needs-review")
            # the broker answered for every queue
            assert page.locator("#queues .queue").count() == 3
            assert "unknown" not in page.inner_text("#queues")
            assert "3 finished" in page.inner_text("#throughput-total")  # paid, failed, refunded
            # recent orders, newest first, and a search by amount finds the one order
            assert page.locator("#recent-orders tr").count() == sum(in_db.values())
            page.fill("#q", "2000.00")
            page.click("#search button")
            wait_in_page(page, "document.querySelectorAll('#recent-orders tr').length === 1")
            assert declined["id"][:8] in page.inner_text("#recent-orders") and "failed" in page.inner_text("#recent-orders")

            # and the layout holds at 1,280 and 1,920 px: the twelve tiles in two rows, then one, nothing
            # wider than the window
            for width, rows in ((1280, 2), (1920, 1)):
                page.set_viewport_size({"width": width, "height": 1000})
                layout = page.evaluate(
                    "() => ({tops: [...document.querySelectorAll('.tile')].map(t => t.getBoundingClientRect().top),"
                    " overflow: document.documentElement.scrollWidth - window.innerWidth})"
                )
                assert (len(set(layout["tops"])), len(layout["tops"]), layout["overflow"]) == (rows, 12, 0), width
                page.screenshot(path=str(SCREENSHOTS / f"dashboard-{width}.png"), full_page=True)

            # and a tile opens the admin's order list in that status
            page.set_viewport_size({"width": 1280, "height": 900})
            page.click("#tile-failed")
            page.wait_for_url("**/admin/payments/order/?status__exact=failed")
            assert page.locator("#result_list tbody tr").count() == 1

            # the order page is a record with a refund action: amount, reason, then back to the page
            page.goto(f"{stack.web.url}/admin/payments/order/{paid['id']}/change/")
            assert page.locator("input[name=_save]").count() == 0
            page.click("a.refund-link")
            page.fill("#id_amount", "2.00")
            page.fill("#id_reason", "Customer returned one item")
            page.click("input[name=_refund]")
            page.wait_for_url(f"**/admin/payments/order/{paid['id']}/change/")
            assert "refund of 2.00 USD queued" in page.inner_text(".messagelist")
            page.screenshot(path=str(SCREENSHOTS / "admin-order.png"), full_page=True)
        finally:
            browser.close()
    for name in ("dashboard-1280.png", "dashboard-1920.png", "admin-order.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
