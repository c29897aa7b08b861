// The managers' complaints page: customers' complaints from the phone page, newest first, with their
// state and answer deadline, an answer form on each open one, and close (after a confirmation) and
// reopen buttons where the state allows them. Complaints are not in the event stream, so the list is
// read again every refresh_s seconds (and when the tab comes back into view). Rows are kept across
// reloads and updated in place, so an answer being typed survives a reload. The counts above the
// list are those of the rows shown, counted again after every change: a reload, an answer, a close,
// a reopen; a row whose new state the filter does not show leaves the list at once.
// Whatever a customer or a manager typed reaches the page through textContent (N.el) only.
(function () {
  "use strict";

  const N = window.NextUp;
  const config = N.config;
  const settings = config.complaints;
  const t = N.t;
  const $ = (id) => document.getElementById(id);

  // The time of the last reload, on the branch's clock like every time the API gives (the
  // browser's own when it does not know the branch's zone).
  const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  let BRANCH_CLOCK;
  try {
    BRANCH_CLOCK = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: settings.timezone }, CLOCK));
  } catch (_) {
    BRANCH_CLOCK = new Intl.DateTimeFormat("en-GB", CLOCK);
  }
  const rows = new Map(); // complaint id -> {id, row, cells, complaint, ...}: its row, what it shows
  let latest = 0; // number of the newest load or change; an older load's reply is dropped

  // --- formatting --------------------------------------------------------------------------------

  function stateLabel(state) {
    return settings.states.includes(state) ? t("complaints.state." + state) : state || "";
  }

  // "2026-03-02T10:05:00+08:00" (the branch's time) -> "2026-03-02 10:05"
  function when(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") : "—";
  }

  // The states the current filter shows ("" = every state).
  function shown(state) {
    const filter = $("state-filter").value;
    return !filter || filter.split(",").includes(state);
  }

  function counterName(id) {
    if (!id) return "";
    return N.nameOf(settings.counters.find((c) => c.id === id)) || id;
  }

  // --- one row -----------------------------------------------------------------------------------

  function newRow(id) {
    const cells = {};
    for (const field of ["number", "filed_at", "where", "text", "phone"]) {
      cells[field] = N.el("td", { dataset: { field: field } });
    }
    const entry = {
      id: id,
      cells: cells,
      state: N.el("span", { class: "state" }),
      overdue: N.el("span", { class: "overdue", text: t("complaints.overdue"), hidden: true }),
      late: N.el("span", { class: "late", text: t("complaints.answered_late"), hidden: true }),
      due: N.el("p", { class: "due" }),
      answer: N.el("p", { class: "answer-text" }),
      answeredBy: N.el("p", { class: "answered-by" }),
      textarea: N.el("textarea", { name: "answer", rows: 3, maxLength: settings.answer_max }),
      button: N.el("button", { type: "submit", text: t("complaints.send") }),
      close: N.el("button", { type: "button", class: "secondary", text: t("complaints.close"),
        dataset: { action: "close" } }),
      reopen: N.el("button", { type: "button", class: "secondary", text: t("complaints.reopen"),
        dataset: { action: "reopen" } }),
    };
    entry.close.addEventListener("click", () => askClose(entry));
    entry.reopen.addEventListener("click", () => change(entry, { state: "open" }, "complaints.reopened"));
    entry.textarea.setAttribute("aria-label", t("complaints.answer_label"));
    entry.form = N.el("form", { class: "answer-form" }, [entry.textarea, entry.button]);
    entry.form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendAnswer(entry);
    });
    entry.row = N.el("tr", { dataset: { complaint: id } }, [
      cells.number, cells.filed_at, cells.where, cells.text, cells.phone,
      N.el("td", { dataset: { field: "state" } }, [entry.state, N.el("div", {}, [entry.overdue, entry.late]), entry.due,
        N.el("div", { class: "row-actions" }, [entry.close, entry.reopen])]),
      N.el("td", { dataset: { field: "answer" } }, [entry.answer, entry.answeredBy, entry.form]),
    ]);
    return entry;
  }

  function fill(entry, complaint) {
    const open = complaint.state === "open";
    entry.complaint = complaint;
    entry.row.dataset.state = complaint.state;
    entry.row.dataset.overdue = String(Boolean(complaint.overdue));
    entry.cells.number.textContent = complaint.number || "—";
    entry.cells.filed_at.textContent = when(complaint.filed_at);
    entry.cells.where.textContent = [counterName(complaint.counter), complaint.staff].filter(Boolean).join(" · ")
      || t("complaints.nobody");
    entry.cells.text.textContent = complaint.text;
    entry.cells.phone.textContent = complaint.phone
      || t(complaint.phone_erased ? "complaints.phone_erased" : "complaints.no_phone");
    entry.state.textContent = stateLabel(complaint.state);
    entry.overdue.hidden = !complaint.overdue;
    entry.late.hidden = !complaint.answered_late;
    entry.due.textContent = t("complaints.due", { at: when(complaint.answer_due_at) });
    entry.due.hidden = !open;
    entry.answer.textContent = complaint.answer || "";
    entry.answer.hidden = !complaint.answer;
    entry.answeredBy.textContent = t("complaints.answered_by", {
      who: complaint.answered_by || "—", at: when(complaint.answered_at) });
    entry.answeredBy.hidden = !complaint.answer;
    entry.form.hidden = !open;
    entry.close.hidden = !settings.transitions.closed.includes(complaint.state);
    entry.reopen.hidden = !settings.transitions.open.includes(complaint.state);
  }

  // The counts of the rows shown, by state: they always agree with the list below them.
  function summarize() {
    const list = Array.from(rows.values(), (entry) => entry.complaint);
    const count = (state) => list.filter((c) => c.state === state).length;
    const parts = [["total", list.length]];
    for (const state of settings.states) {
      if (!shown(state)) continue;
      parts.push([state, count(state)]);
      if (state === "open") parts.push(["overdue", list.filter((c) => c.overdue).length]);
    }
    $("summary").replaceChildren(...parts.map(([name, n], i) => N.el("span", {
      class: "count", dataset: { count: name, n: String(n) }, text: (i ? " · " : "") + t("complaints.count." + name, { n: n }),
    })));
    $("empty").hidden = list.length > 0;
  }

  // A complaint as the server answered after a change: its row follows, or leaves a list that
  // does not show its new state; the counts follow either way.
  function changed(entry, complaint) {
    latest += 1; // a load already on its way read the list before this change: drop its reply
    if (shown(complaint.state)) {
      fill(entry, complaint);
    } else {
      entry.row.remove();
      rows.delete(entry.id);
    }
    summarize();
  }

  // --- the list ----------------------------------------------------------------------------------

  function render(reply) {
    const list = reply.complaints;
    const tbody = $("complaints").tBodies[0];
    const listed = new Set(list.map((c) => c.id));
    for (const [id, entry] of rows) {
      if (!listed.has(id)) {
        entry.row.remove();
        rows.delete(id);
      }
    }
    // Rows already shown keep their place (and their focus): new ones go in before them.
    list.forEach((complaint, i) => {
      let entry = rows.get(complaint.id);
      if (!entry) {
        entry = newRow(complaint.id);
        rows.set(complaint.id, entry);
      }
      fill(entry, complaint);
      const there = tbody.children[i];
      if (there !== entry.row) tbody.insertBefore(entry.row, there || null);
    });
    summarize();
    $("target").textContent = t("complaints.target", { hours: reply.answer_target_h });
    $("updated").textContent = t("complaints.updated", { time: BRANCH_CLOCK.format(new Date()) });
  }

  async function load() {
    const mine = ++latest;
    const state = $("state-filter").value;
    const reply = await N.api("GET", N.branchPath("/complaints" + (state ? "?state=" + encodeURIComponent(state) : "")));
    if (mine !== latest) return; // the filter changed meanwhile: a newer load is on its way
    if (reply.status === 401) return; // on the way to the login page
    N.setConnection(reply.status === 0 ? "offline" : "online");
    if (reply.status === 200) {
      render(reply.data);
    } else {
      N.say(t("complaints.load_failed", { reason: N.errorText(reply.data && reply.data.error) }), "error");
    }
  }

  // --- answering ---------------------------------------------------------------------------------

  // One change of a complaint (answer, close, reopen); says what happened, in words, either way.
  async function change(entry, body, done) {
    const buttons = [entry.button, entry.close, entry.reopen];
    for (const button of buttons) button.disabled = true;
    try {
      const reply = await N.api("PATCH", N.branchPath("/complaints/" + encodeURIComponent(entry.id)), body);
      const error = reply.data && reply.data.error;
      if (reply.status === 200) {
        if (body.answer) entry.textarea.value = "";
        changed(entry, reply.data);
        N.say(t(done, { number: reply.data.number }), "ok");
      } else if (reply.status === 409 && error && error.code === "invalid_state") {
        N.say(t("complaints.changed", { state: stateLabel(error.state) }), "error");
        load();
      } else if (reply.status === 404) {
        N.say(t("complaints.gone"), "error");
        load();
      } else if (reply.status !== 401) {
        N.say(N.errorText(error), "error");
      }
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  function sendAnswer(entry) {
    const answer = entry.textarea.value.trim();
    if (!answer) {
      N.say(t("complaints.answer_empty"), "error");
      entry.textarea.focus();
      return;
    }
    change(entry, { answer: answer }, "complaints.sent");
  }

  // Closing takes the complaint off the list of those still to deal with: asked first.
  const dialog = $("close-dialog");
  let closing = null; // the entry the dialog asks about
  function askClose(entry) {
    closing = entry;
    $("close-text").textContent = t("complaints.close_text", { number: entry.complaint.number || "—" });
    $("close-unanswered").hidden = Boolean(entry.complaint.answer);
    dialog.showModal();
    $("close-no").focus();
  }
  $("close-no").addEventListener("click", () => dialog.close());
  $("close-yes").addEventListener("click", () => {
    const entry = closing;
    dialog.close();
    if (entry) change(entry, { state: "closed" }, "complaints.closed");
  });
  dialog.addEventListener("close", () => {
    if (closing) closing.close.focus();
    closing = null;
  });

  // --- start -------------------------------------------------------------------------------------

  const filter = $("state-filter");
  const asked = new URLSearchParams(window.location.search).get("state");
  if (asked !== null && settings.filters.includes(asked)) filter.value = asked;
  filter.addEventListener("change", () => {
    const url = new URL(window.location.href);
    if (filter.value === settings.filters[0]) url.searchParams.delete("state");
    else url.searchParams.set("state", filter.value);
    window.history.replaceState(null, "", url.toString());
    load();
  });
  $("logout").addEventListener("click", N.logout);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) load();
  });
  load();
  setInterval(load, settings.refresh_s * 1000);
  window.NextUpComplaints = { reload: load };
})();
