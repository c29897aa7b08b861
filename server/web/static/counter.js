// The counter workstation: take a counter, then serve it with buttons or keyboard shortcuts.
// Every change goes through the JSON API; what the page shows comes only from the staff
// websocket's view messages, pushed after every event of the branch (no refresh, ever).
//
// For tests and diagnostics: window.nextupCounter = {counter, view, socket: {connected, messages}}.
(function () {
  "use strict";

  const N = window.NextUp;
  const config = N.config;
  const t = N.t;
  const $ = (id) => document.getElementById(id);

  const state = { counter: null, view: null, socket: null, skewMs: 0 };
  window.nextupCounter = state;

  function counterInfo(id) {
    return config.counters.find((c) => c.id === id) || { id: id, name_zh: id, name_en: id };
  }

  function serviceName(id) {
    const view = state.view;
    const service = view && view.transfer_to.find((s) => s.id === id);
    return service ? N.nameOf(service) : id;
  }

  function counterPath(action, id) {
    return N.branchPath("/counters/" + encodeURIComponent(id || state.counter) + "/" + action);
  }

  // ---- Taking and leaving a counter ----------------------------------------------------------

  async function take(id) {
    const refusal = $("refusal");
    refusal.hidden = true;
    const result = await N.api("POST", counterPath("take", id), {});
    if (result.status !== 200) {
      const error = result.data && result.data.error;
      refusal.textContent = error && error.code === "counter_taken"
        ? t("counter.taken_by", { counter: N.nameOf(counterInfo(id)), holder: error.holder || "" })
        : N.errorText(error);
      refusal.hidden = false;
      return;
    }
    state.counter = id;
    const url = new URL(window.location.href);
    url.searchParams.set("counter", id);
    url.searchParams.delete("lang");
    window.history.replaceState(null, "", url.toString());
    keepCounterInLanguageLink(id);
    $("choose").hidden = true;
    $("desk").hidden = false;
    $("leave").hidden = false;
    $("counter-name").textContent = N.nameOf(counterInfo(id));
    state.socket = N.liveSocket({ counter: id }, show, (code) => {
      N.say(t(code === NextUpSocket.CLOSE.NOT_FOUND ? "counter.live_not_found" : "counter.live_forbidden"), "error");
    });
  }

  // Switching the language reloads the page: it comes back to the same counter.
  function keepCounterInLanguageLink(id) {
    const link = document.querySelector("a.lang");
    if (!link) return;
    const target = new URL(link.href);
    if (id) target.searchParams.set("counter", id);
    else target.searchParams.delete("counter");
    link.href = target.toString();
  }

  async function leave() {
    if (!state.counter) return;
    const result = await N.api("POST", counterPath("release"), {});
    if (result.status >= 400 && !(result.data && result.data.error && result.data.error.code === "not_taken")) {
      N.say(N.errorText(result.data && result.data.error), "error");
      return;
    }
    stopWatching();
    keepCounterInLanguageLink(null);
    $("desk").hidden = true;
    $("leave").hidden = true;
    $("choose").hidden = false;
  }

  function stopWatching() {
    if (state.socket) state.socket.stop();
    state.socket = null;
    state.counter = null;
    state.view = null;
  }

  async function logout() {
    if (state.counter) {
      await N.api("POST", counterPath("release"), {});
      stopWatching();
    }
    await N.logout();
  }

  // ---- Actions --------------------------------------------------------------------------------

  const DONE_TEXT = {
    recall: "counter.recall", finish: "counter.finish", "no-show": "counter.no_show",
    transfer: "counter.transfer_go", reactivate: "counter.reactivate_go", pause: "counter.pause",
    open: "counter.resume", close: "counter.close",
  };

  async function act(action, body) {
    if (!state.counter) return false;
    const result = await N.api("POST", counterPath(action), body || {});
    if (result.status === 0 || result.status >= 400) {
      N.say(N.errorText(result.data && result.data.error, { number: (body && body.number) || "" }), "error");
      return false;
    }
    if (action === "call-next" && result.status === 204) {
      N.say(t("counter.nobody_waiting"), "info");
    } else if ((action === "call-next" || action === "call") && result.data) {
      N.say(t("counter.called", { number: result.data.number }), "ok");
    } else {
      const what = DONE_TEXT[action] ? t(DONE_TEXT[action]) : action;
      N.say(t("counter.done", { what: result.data && result.data.number ? what + " " + result.data.number : what }), "ok");
    }
    return true;
  }

  function formValue(id) {
    return $(id).value.trim();
  }

  function bindForms() {
    $("transfer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const select = $("transfer-service");
      // No service is chosen for the staff member: Enter on the empty choice transfers nothing.
      if (!select.value) {
        N.say(t("counter.transfer_choose", { key: "Enter" }), "info");
        select.focus();
        return;
      }
      act("transfer", { service: select.value }).then((done) => {
        if (done) select.value = "";
        select.blur();
      });
    });
    $("call-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const number = formValue("call-number").toUpperCase();
      if (number && await act("call", { number: number })) {
        $("call-number").value = "";
        $("call-number").blur();
      }
    });
    $("reactivate-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const number = formValue("reactivate-number").toUpperCase();
      if (number && await act("reactivate", { number: number })) {
        $("reactivate-number").value = "";
        $("reactivate-number").blur();
      }
    });
    $("pause-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const reason = formValue("pause-reason") || t("counter.reason_default");
      if (await act("pause", { reason: reason })) $("pause-reason").blur();
    });
    for (const button of document.querySelectorAll("button[data-action]")) {
      if (button.type === "submit") continue;
      button.addEventListener("click", () => run(button.dataset.action));
    }
    for (const choice of document.querySelectorAll("button.choice")) {
      choice.addEventListener("click", () => take(choice.dataset.counter));
    }
    $("leave").addEventListener("click", leave);
  }

  // A no-show cannot be taken back at this counter (the ticket leaves it): the first X (or click)
  // asks, a second one within a few seconds on the same ticket marks it.
  const CONFIRM_MS = 5000;
  let armed = null;
  function disarm() {
    if (armed) clearTimeout(armed.timer);
    armed = null;
    const button = document.querySelector('button[data-action="no-show"]');
    if (button) delete button.dataset.confirm;
  }
  function noShow() {
    const current = state.view && state.view.current;
    if (!current) return null;
    if (armed && armed.number === current.number) {
      disarm();
      return act("no-show");
    }
    disarm();
    armed = { number: current.number, timer: setTimeout(disarm, CONFIRM_MS) };
    document.querySelector('button[data-action="no-show"]').dataset.confirm = "true";
    N.say(t("counter.no_show_confirm", { key: "X", number: current.number }), "warn");
    return null;
  }

  function focusField(id) {
    const field = $(id);
    if (field.disabled) return;
    field.focus();
    if (field.select) field.select();
  }

  // Named actions of the buttons and of the keyboard shortcuts (config.shortcuts: key -> name).
  function run(name) {
    switch (name) {
      case "logout": return logout();
      case "call-next": case "call_next": return act("call-next");
      case "recall": return act("recall");
      case "finish": return act("finish");
      case "no-show": case "no_show": return noShow();
      case "open": case "resume": return act("open");
      case "close": return act("close");
      case "transfer": return focusField("transfer-service");
      case "call_number": return focusField("call-number");
      case "reactivate": return focusField("reactivate-number");
      case "pause": return focusField("pause-reason");
      default: return null;
    }
  }

  function typingIn(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA");
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target;
    if (typingIn(target)) {
      if (event.key === "Escape") target.blur();
      // Enter in a list does not submit its form by itself.
      if (event.key === "Enter" && target.tagName === "SELECT" && target.form) {
        event.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (event.key.length !== 1) return;
    const key = event.shiftKey ? event.key.toUpperCase() : event.key.toLowerCase();
    const name = config.shortcuts[key];
    if (!name) return;
    if (name !== "logout" && !state.counter) return;
    event.preventDefault();
    const button = name === "logout" ? null : document.querySelector('button[data-action="' + actionOf(name) + '"]');
    if (button && button.disabled) return;
    run(name);
  });

  function actionOf(name) {
    return { call_next: "call-next", no_show: "no-show", resume: "open", call_number: "call" }[name] || name;
  }

  // ---- Showing the view -----------------------------------------------------------------------

  function show(message) {
    if (message.type !== "counter") return;
    state.view = message;
    state.skewMs = Date.parse(message.now) - Date.now();
    render();
  }

  function setEnabled(action, enabled) {
    for (const button of document.querySelectorAll('button[data-action="' + action + '"]')) button.disabled = !enabled;
  }

  function render() {
    const view = state.view;
    if (!view) return;
    const counter = view.counter;
    $("counter-name").textContent = N.nameOf(counter);
    const badge = $("counter-status");
    badge.dataset.status = counter.status;
    badge.textContent = N.stateWord(counter.status);
    $("counter-reason").textContent = counter.reason || "";
    if (counter.holder && counter.holder !== config.user.username) {
      N.say(t("error.counter_taken", { holder: counter.holder }), "error");
    }

    const current = view.current;
    const number = $("current-number");
    number.textContent = current ? current.number : t("counter.no_current");
    number.dataset.empty = current ? "false" : "true";
    $("current-service").textContent = current
      ? serviceName(current.service) + (current.priority ? " · " + t("counter.priority") : "")
      : "";
    $("current-waited").textContent = current ? N.duration(current.waited_s) : "—";
    $("current-calls").textContent = current ? String(current.calls) : "—";
    tick();

    const open = counter.status === "open";
    const busy = Boolean(current);
    setEnabled("call-next", open && !busy);
    setEnabled("call", open && !busy);
    setEnabled("recall", busy);
    setEnabled("finish", busy);
    setEnabled("no-show", busy);
    setEnabled("transfer", busy);
    setEnabled("pause", open && !busy);
    setEnabled("open", counter.status !== "open");
    setEnabled("close", counter.status !== "closed" && !busy);
    $("transfer-service").disabled = !busy;
    $("call-number").disabled = !(open && !busy);
    $("pause-reason").disabled = !(open && !busy);

    const select = $("transfer-service");
    const chosen = select.value;
    select.replaceChildren(N.el("option", { value: "", text: t("counter.transfer_pick") }), ...view.transfer_to
      .filter((s) => !current || s.id !== current.service)
      .map((s) => N.el("option", { value: s.id, text: N.nameOf(s) })));
    select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
    if (armed && (!current || current.number !== armed.number)) disarm();

    $("waiting").replaceChildren(...counter.services.map((s) => N.el("li", { dataset: { service: s.id } }, [
      N.el("span", { class: "service-name", text: N.nameOf(s) }),
      N.el("span", { class: "count", text: String(s.waiting) }),
      s.priority_waiting ? N.el("span", { class: "priority", text: t("counter.priority") + " " + s.priority_waiting }) : "",
    ])));
    $("next").replaceChildren(...(view.next.length
      ? view.next.map((n) => N.el("li", { dataset: { number: n.number } }, [
        N.el("span", { class: "number", text: n.number }),
        N.el("span", { class: "service-name", text: serviceName(n.service) }),
        n.priority ? N.el("span", { class: "priority", text: t("counter.priority") }) : "",
      ]))
      : [N.el("li", { class: "empty", text: t("counter.next_empty") })]));
    $("no-shows").replaceChildren(...view.no_shows.map((n) => {
      const button = N.el("button", { type: "button", class: "chip", text: n.number, dataset: { until: n.until } });
      button.addEventListener("click", () => act("reactivate", { number: n.number }));
      return button;
    }));
    $("today-served").textContent = String(view.today.served);
    $("today-average").textContent = N.duration(view.today.average_handling_s);
  }

  // The handling timer runs on the page between messages, on the server's clock.
  function tick() {
    const view = state.view;
    const field = $("current-handling");
    if (!view || !view.current || !view.current.serving_since) {
      field.textContent = "—";
      return;
    }
    const since = Date.parse(view.current.serving_since);
    field.textContent = N.duration((Date.now() + state.skewMs - since) / 1000);
    for (const chip of document.querySelectorAll("#no-shows .chip")) {
      chip.hidden = Date.parse(chip.dataset.until) <= Date.now() + state.skewMs;
    }
  }

  bindForms();
  setInterval(tick, 500);
  // /counter?counter=1 (a bookmark, or the page reloaded) takes that counter again at once.
  if (config.chosen) take(config.chosen);
})();
