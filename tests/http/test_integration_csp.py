"""The Content-Security-Policy in a real browser: every page people use works under it, none is blocked.

Debian's chromium through Playwright (skipped, naming `make browser-deps`, where it is absent),
against Django's live server on the test settings, which serves the admin's and Swagger UI's
static files. Each page is opened logged in; the browser reports every blocked script, style
sheet, image or connection as a `securitypolicyviolation` event and a console error.
"""

import pytest
from django.contrib.auth.models import Permission

from payments.core.statuses import OrderStatus
from tests.factories import OrderFactory, UserFactory
from tests.tools import require_program

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "csp-browser-password-1"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber} ${event.sample}`);
});
"""


def test_the_admin_the_docs_the_browsable_api_and_the_dashboard_run_under_the_policy(live_server):
    require_program(CHROMIUM, "`make browser-deps` (apt-get install --no-install-recommends chromium)")
    from playwright import sync_api

    # given an ops account and an order to look at (written before the browser's event loop starts)
    ops = UserFactory(username="ops-csp", is_staff=True, is_superuser=True)
    ops.set_password(PASSWORD)
    ops.save()
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW, failure_reason="Parked for the CSP test")
    base = live_server.url
    # (path, a selector that only appears once the page's own code has run)
    pages = [
        ("/admin/", "#content"),
        ("/admin/payments/order/", "#result_list"),
        (f"/admin/payments/order/{order.pk}/change/", "#order_form"),
        ("/api/orders/", ".response-info"),
        ("/api/docs/", ".swagger-ui .information-container"),
        ("/", "body[data-rendered-at]"),
    ]
    console_errors, violations = [], {}

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        try:
            context = browser.new_context()
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
            # when the ops person logs in and opens each page
            page.goto(f"{base}/admin/login/?next=/admin/")
            page.fill("#id_username", "ops-csp")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            for path, ready in pages:
                page.goto(f"{base}{path}")
                page.wait_for_selector(ready, timeout=15000)
                violations[path] = page.evaluate("window.__cspViolations")
        finally:
            browser.close()

    # then every page ran its own code, and the browser blocked nothing
    assert violations == {path: [] for path, _ in pages}
    assert [text for text in console_errors if "Content Security Policy" in text] == []


def test_staff_without_the_view_permission_do_not_get_the_dashboard_in_a_browser(live_server):
    require_program(CHROMIUM, "`make browser-deps` (apt-get install --no-install-recommends chromium)")
    from playwright import sync_api

    # given a staff account that may edit orders in the admin but not read everyone's
    staff = UserFactory(username="editor-csp", is_staff=True)
    staff.set_password(PASSWORD)
    staff.save()
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="payments", codename="change_order"))
    base = live_server.url

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/admin/login/?next=/admin/")
            page.fill("#id_username", "editor-csp")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            # when
            response = page.goto(f"{base}/")
            assert response.status == 403
            # then: refused, with nothing of the dashboard
            assert page.url == f"{base}/"
            assert "Permission denied." in page.inner_text("body")
            assert page.locator("[data-status]").count() == 0
        finally:
            browser.close()
