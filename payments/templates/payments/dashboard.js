// The ops dashboard: render the embedded snapshot, then poll the JSON endpoint. No build step.
(function () {
  "use strict";
  const main = document.querySelector("main");
  const url = main.dataset.url;
  const every = Number(main.dataset.refreshSeconds) * 1000;
  const $ = (id) => document.getElementById(id);
  // Paid orders stay "paid" in the chart when they are refunded later; a declined settlement failed.
  const PAID = ["paid", "partially_refunded", "refunded"];
  const FAILED = ["failed", "settlement_declined"];
  let query = $("q").value;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "none";
    if (seconds < 60) return Math.round(seconds) + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function orderLink(row, id, href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = id.slice(0, 8);
    a.title = id;
    a.className = "mono";
    row.insertCell().appendChild(a);
  }

  function badge(row, status) {
    const span = document.createElement("span");
    span.className = "pill status-" + status;
    span.textContent = status.replace(/_/g, " ");
    row.insertCell().appendChild(span);
  }

  function rows(tbody, items, fill, empty) {
    tbody.replaceChildren();
    if (!items.length) {
      cell(tbody.insertRow(), empty, "empty").colSpan = tbody.closest("table").tHead.rows[0].cells.length;
      return;
    }
    for (const item of items) fill(tbody.insertRow(), item);
  }

  const sum = (bucket, statuses) => statuses.reduce((s, k) => s + (bucket[k] || 0), 0);

  function chart(el, buckets) {
    const max = Math.max(1, ...buckets.map((b) => sum(b, PAID) + sum(b, FAILED)));
    el.replaceChildren();
    for (const b of buckets) {
      const col = document.createElement("div");
      col.className = "col";
      const t = new Date(b.minute);
      const paid = sum(b, PAID), failed = sum(b, FAILED);
      col.title = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ": " + paid + " paid, " + failed + " failed";
      for (const [kind, n] of [["failed", failed], ["paid", paid]]) {
        const seg = document.createElement("div");
        seg.className = "seg " + kind;
        seg.style.height = (100 * n / max) + "%";
        col.appendChild(seg);
      }
      el.appendChild(col);
    }
  }

  function render(d) {
    for (const [status, n] of Object.entries(d.counts)) {
      const el = document.querySelector('[data-status="' + status + '"]');
      if (el) el.textContent = n.toLocaleString();
    }
    $("total").textContent = d.total.toLocaleString();
    const oldest = $("oldest-active");
    oldest.textContent = duration(d.oldest_active_age_seconds);
    oldest.classList.toggle("warn", (d.oldest_active_age_seconds || 0) > 60);

    const rec = $("reconciler");
    rec.textContent = d.reconciler_age_seconds === null ? "never" : duration(d.reconciler_age_seconds) + " ago";
    rec.classList.toggle("warn", d.reconciler_age_seconds === null || d.reconciler_age_seconds > 300);
    $("reconciler-at").textContent = d.reconciler_last_run ? new Date(d.reconciler_last_run).toLocaleString() : "no finished run recorded";

    const queues = $("queues");
    queues.replaceChildren();
    for (const [name, depth] of Object.entries(d.queues)) {
      const span = document.createElement("span");
      span.className = "queue" + (depth === null ? " unknown" : "");
      span.dataset.queue = name;
      span.textContent = name + " " + (depth === null ? "unknown" : depth);
      queues.appendChild(span);
    }

    $("money-since").textContent = "since " + new Date(d.money_today.since).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    rows($("money"), d.money_today.by_currency, (row, m) => {
      row.dataset.currency = m.currency;
      cell(row, m.currency, "mono");
      cell(row, m.paid + " (" + m.paid_count + ")", "num paid");
      cell(row, m.refunded + " (" + m.refunded_count + ")", "num refunded");
    }, "Nothing paid yet today.");

    if (d.workers === null) {
      rows($("workers"), [], null, "The broker did not answer: workers unknown.");
    } else {
      rows($("workers"), d.workers, (row, w) => {
        row.dataset.worker = w.name;
        cell(row, w.name, "mono");
        cell(row, w.queues.join(", "));
        const state = cell(row, w.liveness, "liveness " + w.liveness.replace(" ", "-"));
        if (w.reason) state.title = w.reason;
        cell(row, w.heartbeat_age_seconds === null ? "–" : duration(w.heartbeat_age_seconds) + " ago", "num age");
        cell(row, String(w.in_flight), "num in-flight");
        cell(row, String(w.waiting), "num");
        cell(row, w.processed.toLocaleString(), "num processed");
        cell(row, String(w.concurrency), "num");
      }, "No worker answered.");
    }

    chart($("throughput"), d.throughput);
    const done = d.throughput.reduce((s, b) => s + sum(b, PAID) + sum(b, FAILED), 0);
    $("throughput-total").textContent = "· " + done + " finished, " + (done / d.throughput.length).toFixed(1) + "/min";

    $("review-count").textContent = d.counts.needs_review;
    rows($("needs-review"), d.needs_review, (row, o) => {
      orderLink(row, o.id, o.admin_url);
      cell(row, o.amount + " " + o.currency, "num");
      cell(row, o.reason || "–", "reason").title = o.reason;
      cell(row, duration(o.parked_seconds), "num age");
    }, "Nothing waits for a human.");
    const hidden = d.counts.needs_review - d.needs_review.length;
    $("review-more").hidden = hidden <= 0;
    $("review-more-count").textContent = hidden.toLocaleString();

    rows($("gateway-errors"), d.gateway_errors, (row, e) => {
      row.dataset.order = e.order_id;
      orderLink(row, e.order_id, e.admin_url);
      cell(row, e.call);
      cell(row, e.code, "mono code").title = e.outcome.replace(/_/g, " ");
      cell(row, "attempt " + e.attempt + " of " + e.attempts, "attempt");
      badge(row, e.status);
      cell(row, new Date(e.at).toLocaleTimeString(), "num age");
    }, "No gateway errors.");

    rows($("recent-orders"), d.recent_orders.orders, (row, o) => {
      orderLink(row, o.id, o.admin_url);
      badge(row, o.status);
      cell(row, o.amount + " " + o.currency, "num");
      cell(row, o.transaction_id || "–", "mono");
      cell(row, new Date(o.created_at).toLocaleTimeString(), "num age");
    }, d.recent_orders.query ? "No order matches \u201c" + d.recent_orders.query + "\u201d." : "No orders yet.");

    $("updated").textContent = "updated " + new Date(d.generated_at).toLocaleTimeString();
    $("live-dot").className = "dot live";
    document.body.dataset.renderedAt = d.generated_at;
  }

  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const target = url + (query ? "?q=" + encodeURIComponent(query) : "");
      const response = await fetch(target, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      render(await response.json());
    } catch (err) {
      $("live-dot").className = "dot stale";
      $("updated").textContent = "refresh failed (" + err.message + "), retrying";
    } finally {
      timer = setTimeout(refresh, every);
    }
  }

  // Search without leaving the page; the form still works without JavaScript.
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    query = $("q").value.trim();
    history.replaceState(null, "", query ? "?q=" + encodeURIComponent(query) : location.pathname);
    refresh();
  });

  render(JSON.parse($("initial-data").textContent));
  timer = setTimeout(refresh, every);
})();
