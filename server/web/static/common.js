// Shared by the staff pages: texts, the JSON API with the session's CSRF token, the live socket.
// Plain JavaScript, nothing loaded from the internet. Whatever a user typed reaches the page
// through textContent or an input's value only, never as HTML.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("nextup-config").textContent);
  const texts = config.texts || {};

  function t(key, values) {
    let text = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  function nameOf(item) {
    if (!item) return "";
    return (config.lang === "zh" ? item.name_zh : item.name_en) || item.id || "";
  }

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "class") node.className = value;
      else node[key] = value;
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function stateWord(state) {
    const key = "counter.status." + state;
    return Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : state || "";
  }

  function has(key) {
    return Object.prototype.hasOwnProperty.call(texts, key);
  }

  // A state as a word of the sentence it goes into: a ticket's (waiting, served, ...) or a
  // counter's (open, paused, closed); the badge word when the page has no sentence word.
  function stateIn(prefix, state) {
    return has(prefix + state) ? texts[prefix + state] : stateWord(state);
  }

  // The words a person reads for an API error: the catalogue's text for its code, filled with the
  // error's fields (number, state, holder) and with what the page asked about (context.number).
  // The server's English message is never shown in the Chinese page.
  function errorText(error, context) {
    if (!error) return t("error.network");
    const asked = context || {};
    const number = error.number || asked.number || "";
    if (error.code === "not_found" && asked.number) return t("error.ticket_not_found", { number: number });
    if (error.code === "invalid_state" && error.number) {
      return t("error.ticket_state", { number: number, state: stateIn("counter.ticket_state.", error.state) });
    }
    if (error.code === "invalid_state" && has("counter.state_word." + error.state)) {
      return t("error.counter_state", { state: texts["counter.state_word." + error.state] });
    }
    const key = "error." + error.code;
    const own = config.lang === "zh" ? error.message_zh : error.message;
    // A refused field: the server says which and why (message_zh in Chinese; English only in English).
    if (error.code === "invalid_field" && own) return own;
    if (has(key)) {
      return t(key, {
        holder: error.holder || "",
        state: stateIn("counter.state_word.", error.state),
        number: number,
      });
    }
    return own || (has("error.failed") ? t("error.failed") : t("error.network"));
  }

  let messageTimer = null;
  function say(text, kind) {
    const box = document.getElementById("message");
    box.textContent = text;
    box.dataset.kind = kind || "info";
    box.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 12000 : 6000);
  }

  function toLogin() {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  // One JSON request with the cookie and the CSRF token; {status, data}. A 401 means the
  // session ended (logout elsewhere, expiry): back to the login page.
  async function api(method, path, body) {
    const options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": config.csrf_token, Accept: "application/json" },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (_) {
      return { status: 0, data: null };
    }
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (_) { data = null; }
    }
    if (response.status === 401 && path !== "/api/logout") toLogin();
    return { status: response.status, data: data };
  }

  function branchPath(rest) {
    return "/api/branches/" + encodeURIComponent(config.branch.id) + rest;
  }

  function setConnection(state) {
    const badge = document.getElementById("connection");
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = t("connection." + state);
  }

  // The staff websocket (live_socket.js): reconnects with jittered doubling backoff, answers the
  // server's pings. onMessage gets every view message; a refusal (session ended) goes to the login page.
  function liveSocket(params, onMessage, onRefused) {
    const CLOSE = NextUpSocket.CLOSE;
    const status = { connected: false, connects: 0, messages: 0 };
    const live = NextUpSocket.connect({
      url() {
        const url = new URL(config.socket, window.location.href);
        url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
        for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
        return url.toString();
      },
      onConnecting() { setConnection("connecting"); },
      onOpen() {
        status.connected = true;
        status.connects += 1;
        setConnection("online");
      },
      onMessage(message) {
        status.messages += 1;
        onMessage(message);
      },
      onClose(end) {
        status.connected = false;
        setConnection("offline");
        if (end.code === CLOSE.UNAUTHORIZED) { toLogin(); return false; }
        if (end.code === CLOSE.FORBIDDEN || end.code === CLOSE.NOT_FOUND) {
          if (onRefused) onRefused(end.code, end.reason);
          return false;
        }
        return undefined;
      },
    });
    return { status: status, stop: live.stop };
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const two = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(s % 60);
  }

  async function logout() {
    // /api/logout ends the session on every server process (and releases a staff member's
    // counters); /logout then removes the cookie.
    await api("POST", "/api/logout");
    await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": config.csrf_token } })
      .catch(() => null);
    window.location.assign("/login");
  }

  window.NextUp = { config, t, nameOf, el, errorText, stateWord, say, api, branchPath, liveSocket, duration,
    logout, toLogin, setConnection };
})();
