// Ticket kiosk page: talks only to the local kiosk process over the websocket "ws" next to it.
// Plain JavaScript, no dependencies, nothing loaded from the internet. Text from the server goes
// into the page with textContent only; the one image (the QR code) is a data: URL drawn by the kiosk.
//
// One request id per visit to the start screen: every tap until the page returns to the start
// sends that same id, so a double tap (or a tap on a second button) can only ever yield one ticket.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("kiosk-config").textContent);
  const IDLE_MS = Math.max(1, Number(config.idle_s) || 20) * 1000;
  // The kiosk answers every issue within its own timeout; this only covers a kiosk that vanished.
  const ANSWER_TIMEOUT_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const buttons = new Map(); // service id -> {item, button, name, meta, refusal}

  let state = { online: false, services: [], allow_priority: false, printer: { available: true } };
  let socket = null; // the live socket to the kiosk process (live_socket.js)
  let socketOpen = false;
  let requestId = newRequestId();
  let pending = false;
  let priority = false;
  let answerTimer = null;
  let idleTimer = null;

  window.nextupKiosk = { get requestId() { return requestId; }, messages: [] };

  // ---- Helpers ---------------------------------------------------------------------------

  function newRequestId() {
    // crypto.randomUUID needs a secure context; the demo kiosk may be served over plain http.
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function setPair(zhEl, enEl, zh, en) {
    zhEl.textContent = zh;
    enEl.textContent = en;
  }

  // A text of the catalogue (config.texts: key -> {zh, en}) in both languages, placeholders filled.
  function texts(key, values) {
    const words = config.texts[key] || { zh: key, en: key };
    const fill = (template) =>
      template.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? String(values[name]) : ""));
    return [fill(words.zh), fill(words.en)];
  }

  function minutes(seconds) {
    return Math.max(1, Math.ceil(seconds / 60));
  }

  // No wait from the server: no open counter serves the service, so no minutes are promised.
  function noCounter(seconds) {
    return seconds === null || seconds === undefined;
  }

  function waitTexts(waiting, seconds) {
    if (noCounter(seconds)) return waiting ? texts("wait.no_counter", { waiting: waiting }) : texts("no_counter");
    if (!waiting && seconds < 60) return texts("wait.none");
    return texts("wait", { waiting: waiting, minutes: minutes(seconds) });
  }

  // ---- Screens ---------------------------------------------------------------------------

  function show(screen) {
    body.dataset.screen = screen;
    for (const id of ["start", "busy", "ticket", "refused"]) $(id).hidden = id !== screen;
    if (screen === "start") fitServices();
    renderOffline();
  }

  function resetToStart() {
    clearTimeout(answerTimer);
    requestId = newRequestId();
    pending = false;
    priority = false;
    setLang("lang-zh");
    $("ticket-qr").hidden = true;
    $("ticket-qr").removeAttribute("src");
    show("start");
    render();
    armIdle();
  }

  function armIdle(ms) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      // Never cut short an answer being waited for; it arrives within the kiosk's timeout.
      if (body.dataset.screen === "busy") return armIdle();
      if (body.dataset.screen !== "start" || body.className !== "lang-zh" || priority) resetToStart();
      else armIdle();
    }, ms || IDLE_MS);
  }

  function renderOffline() {
    const offline = !(socketOpen && state.online);
    body.dataset.online = offline ? "false" : "true";
    // A customer's number on screen stays visible whatever happens to the link.
    const pairing = socketOpen ? state.pairing : null;
    renderPairing(pairing);
    $("offline").hidden = !(offline && body.dataset.screen === "start" && !pairing);
    // For the technician: why the server turned the kiosk away (a bad token, say), if it did.
    $("offline-reason").textContent = socketOpen ? state.last_close || "" : "";
  }

  // Not paired yet (or the server refused the stored credential): the code for an administrator
  // covers the page; no service can be tapped.
  function renderPairing(pairing) {
    body.dataset.paired = pairing ? "false" : "true";
    $("pairing").hidden = !pairing;
    if (!pairing) return;
    $("pairing").dataset.state = pairing.state;
    $("pairing-code").textContent = pairing.code || "······";
    const known = Object.prototype.hasOwnProperty.call(config.texts, "pairing." + pairing.state);
    const words = known ? texts("pairing." + pairing.state) : [];
    $("pairing-detail").textContent = [...words, pairing.detail || ""].filter(Boolean).join(" · ");
  }

  function render() {
    const branch = state.branch || {};
    setPair($("branch-zh"), $("branch-en"), branch.name_zh || "", branch.name_en || "");
    const printerOk = !state.printer || state.printer.available !== false;
    body.dataset.printer = printerOk ? "ok" : "unavailable";
    $("printer-notice").hidden = printerOk;
    $("priority").hidden = !state.allow_priority;
    if (!state.allow_priority) priority = false;
    $("priority").setAttribute("aria-pressed", priority ? "true" : "false");
    renderServices();
    renderOffline();
  }

  function renderServices() {
    const list = $("services");
    const seen = new Set();
    for (const service of state.services || []) {
      seen.add(service.id);
      let entry = buttons.get(service.id);
      if (!entry) {
        entry = makeButton(service.id);
        buttons.set(service.id, entry);
      }
      list.appendChild(entry.item); // keeps the server's order
      entry.name.replaceChildren(span("zh", service.name_zh), span("en", service.name_en));
      const [zh, en] = waitTexts(service.waiting, service.estimated_wait_s);
      entry.meta.replaceChildren(span("zh", zh), span("en", en));
      const [notZh, notEn] = texts("not_issuing");
      const refusal = service.issuing ? null : service.refusal || { message_zh: notZh, message: notEn };
      entry.refusal.hidden = !refusal;
      entry.refusal.replaceChildren(...(refusal ? [span("zh", refusal.message_zh), span("en", refusal.message)] : []));
      entry.button.dataset.issuing = refusal ? "false" : "true";
      entry.button.disabled = Boolean(refusal) || pending;
    }
    for (const [id, entry] of buttons) {
      if (!seen.has(id)) {
        entry.item.remove();
        buttons.delete(id);
      }
    }
    fitServices();
  }

  // The largest text at which every service button holds its name and lines: a few services on a
  // tall screen get large text; long names (or many services) make all of them smaller together,
  // so the buttons stay alike and nothing is cut off.
  const MAX_TEXT_SCALE = 1.5;
  function fitServices() {
    const list = $("services");
    if (list.offsetParent === null) return; // not on screen: fitted when the start screen shows
    const overflowing = (el) => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1;
    const all = Array.from(list.querySelectorAll("button.service"));
    let scale = MAX_TEXT_SCALE;
    list.style.setProperty("--text-scale", String(scale));
    while (scale > 0.3 && all.some(overflowing)) {
      scale -= 0.05;
      list.style.setProperty("--text-scale", scale.toFixed(2));
    }
  }

  function makeButton(serviceId) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "service";
    button.dataset.service = serviceId;
    const name = document.createElement("span");
    name.className = "service-name";
    const meta = document.createElement("span");
    meta.className = "service-meta";
    const refusal = document.createElement("span");
    refusal.className = "service-refusal";
    button.append(name, meta, refusal);
    button.addEventListener("click", () => tap(serviceId));
    item.appendChild(button);
    return { item, button, name, meta, refusal };
  }

  // ---- Issuing ---------------------------------------------------------------------------

  function tap(serviceId) {
    if (pending || !socketOpen || !state.online || state.pairing) return;
    pending = true;
    for (const entry of buttons.values()) entry.button.disabled = true;
    show("busy");
    socket.send({ type: "issue", request_id: requestId, service: serviceId, priority });
    clearTimeout(answerTimer);
    answerTimer = setTimeout(() => {
      const [zh, en] = texts("no_answer");
      showRefused({ message_zh: zh, message: en });
    }, ANSWER_TIMEOUT_MS);
  }

  function showTicket(ticket) {
    clearTimeout(answerTimer);
    $("ticket-number").textContent = ticket.number;
    $("ticket-priority").hidden = !ticket.priority;
    setPair($("ticket-service-zh"), $("ticket-service-en"), ticket.name_zh || "", ticket.name_en || "");
    const ahead = ticket.ahead || 0;
    let key = ahead ? "ahead" : "ahead.none";
    if (noCounter(ticket.estimated_wait_s)) key = ahead ? "ahead.no_counter" : "no_counter";
    const [zh, en] = texts(key, { ahead: ahead, minutes: minutes(ticket.estimated_wait_s) });
    setPair($("ticket-ahead-zh"), $("ticket-ahead-en"), zh, en);
    setPrintStatus("printing", ...texts("print.printing"));
    show("ticket");
    armIdle(IDLE_MS * 2);
  }

  function setPrintStatus(kind, zh, en) {
    $("print-status").dataset.state = kind;
    setPair($("print-zh"), $("print-en"), zh, en);
  }

  function showRefused(error) {
    clearTimeout(answerTimer);
    setPair($("refusal-zh"), $("refusal-en"), error.message_zh || error.message || "", error.message || "");
    show("refused");
    armIdle();
  }

  function onMessage(message) {
    if (message.type === "state") {
      state = message;
      render();
      return;
    }
    if (message.request_id !== requestId) return; // an earlier visit's news
    window.nextupKiosk.messages.push(message);
    if (message.type === "issued") {
      showTicket(message.ticket);
    } else if (message.type === "printed") {
      setPrintStatus("printed", ...texts("print.printed"));
      armIdle();
    } else if (message.type === "print_failed") {
      const error = message.error || {};
      const [unavailableZh, unavailableEn] = texts("print.unavailable");
      const zh = texts("print.failed", { reason: error.message_zh || unavailableZh })[0];
      const en = texts("print.failed", { reason: error.message || unavailableEn })[1];
      setPrintStatus("failed", zh, en);
      $("ticket-qr").src = message.qr;
      $("ticket-qr").hidden = false;
      armIdle(IDLE_MS * 3);
    } else if (message.type === "refused") {
      showRefused(message.error || {});
    }
  }

  // ---- The local socket (live_socket.js) ------------------------------------------------------

  function connect() {
    socket = NextUpSocket.connect({
      url() {
        const url = new URL("ws", window.location.href);
        url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
        return url.href;
      },
      baseMs: 500,
      maxMs: 5000,
      onOpen() {
        socketOpen = true;
        renderOffline();
      },
      onMessage: onMessage,
      onClose() {
        socketOpen = false;
        renderOffline();
        return undefined;
      },
    });
  }

  function setLang(lang) {
    body.className = lang;
    document.documentElement.lang = lang === "lang-zh" ? "zh-CN" : "en";
    fitServices();
  }

  $("lang").addEventListener("click", () => setLang(body.className === "lang-zh" ? "lang-en" : "lang-zh"));
  $("priority").addEventListener("click", () => {
    priority = !priority;
    $("priority").setAttribute("aria-pressed", priority ? "true" : "false");
  });
  $("done").addEventListener("click", resetToStart);
  $("back").addEventListener("click", resetToStart);
  document.addEventListener("pointerdown", () => {
    if (body.dataset.screen === "start") armIdle();
  });

  window.addEventListener("resize", fitServices);

  show("start");
  render();
  armIdle();
  connect();
})();
