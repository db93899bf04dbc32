// The ops dashboard: render the embedded snapshot, then poll the JSON endpoint. No build step.
(function () {
  "use strict";
  const main = document.querySelector("main");
  const url = main.dataset.url;
  const every = Number(main.dataset.refreshSeconds) * 1000;
  const $ = (id) => document.getElementById(id);

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

  function rows(tbody, items, fill, empty) {
    tbody.replaceChildren();
    if (!items.length) {
      cell(tbody.insertRow(), empty, "empty").colSpan = 4;
      return;
    }
    for (const item of items) fill(tbody.insertRow(), item);
  }

  function chart(el, buckets) {
    const max = Math.max(1, ...buckets.map((b) => b.paid + b.failed));
    el.replaceChildren();
    for (const b of buckets) {
      const col = document.createElement("div");
      col.className = "col";
      const t = new Date(b.minute);
      col.title = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ": " + b.paid + " paid, " + b.failed + " failed";
      for (const kind of ["failed", "paid"]) {
        const seg = document.createElement("div");
        seg.className = "seg " + kind;
        seg.style.height = (100 * b[kind] / max) + "%";
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

    chart($("throughput"), d.throughput);
    const done = d.throughput.reduce((s, b) => s + b.paid + b.failed, 0);
    $("throughput-total").textContent = "· " + done + " finished, " + (done / d.throughput.length).toFixed(1) + "/min";

    $("review-count").textContent = d.counts.needs_review;
    rows($("needs-review"), d.needs_review, (row, o) => {
      orderLink(row, o.id, o.admin_url);
      cell(row, o.amount + " " + o.currency, "num");
      cell(row, o.reason || "–", "reason");
      cell(row, duration(o.parked_seconds), "age");
    }, "Nothing waits for a human.");
    const hidden = d.counts.needs_review - d.needs_review.length;
    $("review-more").hidden = hidden <= 0;
    $("review-more-count").textContent = hidden.toLocaleString();
    rows($("gateway-errors"), d.gateway_errors, (row, e) => {
      orderLink(row, e.order_id, e.admin_url);
      cell(row, e.action);
      cell(row, e.outcome.replace("_", " "), "outcome");
      cell(row, new Date(e.at).toLocaleTimeString(), "age");
    }, "No gateway errors.");

    $("updated").textContent = "updated " + new Date(d.generated_at).toLocaleTimeString();
    $("live-dot").className = "dot live";
    document.body.dataset.renderedAt = d.generated_at;
  }

  async function refresh() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      render(await response.json());
    } catch (err) {
      $("live-dot").className = "dot stale";
      $("updated").textContent = "refresh failed (" + err.message + "), retrying";
    } finally {
      setTimeout(refresh, every);
    }
  }

  render(JSON.parse($("initial-data").textContent));
  setTimeout(refresh, every);
})();
