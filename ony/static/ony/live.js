// Ony's dashboard, live without reloads: countdowns tick, and a page that
// watches something (a handoff, the index) asks the server every few seconds.
(() => {
  "use strict";

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time.ony-countdown")) {
      const left = Math.max(0, Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000));
      el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      el.classList.toggle("ony-urgent", left < 60);
    }
  }

  // A handoff's page: once it is decided anywhere (a call, the API, chat, the
  // deadline), show it as it is now.
  function watchHandoff(el) {
    const url = el.dataset.watch;
    const shown = el.dataset.status;
    setInterval(async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const body = await response.json();
        if (body.status !== shown) window.location.reload();
      } catch (_) { /* the next tick tries again */ }
    }, 2000);
  }

  // A panel that is redrawn from the server (the index): its HTML replaces
  // the old one, and the tab's title shows how many requests wait.
  function watchPanel(el) {
    const url = el.dataset.refresh;
    const base = document.title.replace(/^\(\d+\) /, "");
    const title = () => {
      const pending = Number(el.querySelector("[data-pending]")?.dataset.pending || 0);
      document.title = pending ? `(${pending}) ${base}` : base;
    };
    title();
    setInterval(async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) return;
        el.innerHTML = await response.text();
        title();
        tick();
      } catch (_) { /* the next tick tries again */ }
    }, 3000);
  }

  // The inbox: when the requests waiting for a person change (one arrives,
  // one is decided anywhere), show the list as it is now.
  function watchInbox(el) {
    const url = el.dataset.inbox;
    const shown = el.dataset.pendingIds;
    setInterval(async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const ids = (await response.json()).results.map((h) => h.request_id).sort().join(" ");
        if (ids !== shown) window.location.reload();
      } catch (_) { /* the next tick tries again */ }
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    for (const el of document.querySelectorAll("[data-watch]")) watchHandoff(el);
    for (const el of document.querySelectorAll("[data-inbox]")) watchInbox(el);
    for (const el of document.querySelectorAll("[data-refresh]")) watchPanel(el);
  });
})();
