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

  // Ask the server; null when there is nothing to use. A session that ended
  // (a redirect to the login, or a refusal) reloads the page, which then
  // shows the login instead of going quiet.
  async function ask(url, json) {
    const response = await fetch(url, {
      credentials: "same-origin",
      redirect: "manual",
      headers: json ? { Accept: "application/json" } : {},
    });
    if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
      window.location.reload();
      return null;
    }
    if (!response.ok) return null;
    return json ? response.json() : response.text();
  }

  // Someone typing (a search) is not interrupted by a reload; the next tick does it.
  function busy() {
    const el = document.activeElement;
    return Boolean(el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA") && el.value);
  }

  // A handoff's page: once it is decided anywhere (a call, the API, chat, the
  // deadline), show it as it is now.
  function watchHandoff(el) {
    const url = el.dataset.watch;
    const shown = el.dataset.status;
    setInterval(async () => {
      try {
        const body = await ask(url, true);
        if (body && body.status !== shown && !busy()) window.location.reload();
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
        const html = await ask(url, false);
        if (html === null) return;
        el.innerHTML = html;
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
        const body = await ask(url, true);
        if (body === null) return;
        const ids = body.results.map((h) => h.request_id).sort().join(" ");
        if (ids !== shown && !busy()) window.location.reload();
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
