// The branch's emergency state (应急预案) on /admin, in the Notices tab: what is in force (its kind,
// since when in branch time, the manager's own words), a form to start it (or replace the one in
// force) and a button to end it; each asked again in a dialog, since it stops the whole hall.
// Managers and admins may (the API checks); who started or ended it is in the audit log. What a
// manager typed reaches the page as textContent only.
// window.NextUpEmergencyControl = {bind(), render(state)}: admin.js renders it with each live state.
(function () {
  "use strict";

  const N = window.NextUp;
  const T = window.NextUpTime;
  const t = N.t;
  const $ = (id) => document.getElementById(id);
  let current = null; // the state in force, {kind, text_zh, text_en, since}, or null
  let asked = null; // the request the dialog asks about: {method, body, done}

  const kindWord = (kind) => t("emergency.title." + kind);

  function render(state) {
    current = (state && state.emergency) || null;
    const line = $("emergency-current");
    line.dataset.kind = current ? current.kind : "";
    line.textContent = current
      ? t("admin.emergency_state.in_force", { kind: kindWord(current.kind), since: T.when(current.since) })
      : t("admin.emergency_state.none");
    const words = current ? [current.text_zh, current.text_en].filter(Boolean) : [];
    $("emergency-words").hidden = !words.length;
    $("emergency-words").textContent = words.length ? t("admin.emergency_state.own_words", { text: words.join(" / ") }) : "";
    $("emergency-who").hidden = !current;
    $("emergency-start").textContent = t(current ? "admin.emergency_state.replace" : "admin.emergency_state.start");
    $("emergency-end").hidden = !current;
  }

  // What the screens will say for the chosen kind, before the manager's own words.
  function preview() {
    const kind = $("emergency-form").elements.kind.value;
    $("emergency-says").textContent = t("admin.emergency_state.says", { says: t("emergency.says." + kind) });
  }

  function ask(question, yes, request) {
    asked = request;
    $("emergency-question").textContent = question;
    $("emergency-yes").textContent = yes;
    $("emergency-dialog").showModal();
  }

  async function send(request) {
    const result = await N.api(request.method, N.branchPath("/emergency"), request.body);
    if (result.status === 200) {
      N.say(request.done, "ok");
      if (request.method === "POST") $("emergency-form").reset();
      preview();
      render(result.data); // at once; the live state follows
      return;
    }
    const error = result.data && result.data.error;
    const code = error && error.code;
    if (code === "invalid_state") N.say(t("admin.emergency_state.not_in_force"), "error");
    else if (code === "invalid_field") N.say(t("admin.emergency_state.invalid", { max: N.config.emergency_text_max }), "error");
    else N.say(N.errorText(error), "error");
  }

  function bind() {
    const form = $("emergency-form");
    for (const name of ["text_zh", "text_en"]) form.elements[name].maxLength = N.config.emergency_text_max;
    form.elements.kind.addEventListener("change", preview);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { kind: form.elements.kind.value };
      for (const name of ["text_zh", "text_en"]) {
        const text = form.elements[name].value.trim();
        if (text) body[name] = text;
      }
      const kind = kindWord(body.kind);
      ask(t("admin.emergency_state.confirm_start", { kind: kind }), t("admin.emergency_state.yes_start"),
        { method: "POST", body: body, done: t("admin.emergency_state.started", { kind: kind }) });
    });
    $("emergency-end").addEventListener("click", () => {
      if (!current) return;
      ask(t("admin.emergency_state.confirm_end", { kind: kindWord(current.kind) }), t("admin.emergency_state.yes_end"),
        { method: "DELETE", body: undefined, done: t("admin.emergency_state.ended") });
    });
    $("emergency-no").addEventListener("click", () => $("emergency-dialog").close());
    $("emergency-yes").addEventListener("click", () => {
      const request = asked;
      asked = null;
      $("emergency-dialog").close();
      if (request) send(request);
    });
    preview();
  }

  window.NextUpEmergencyControl = { bind, render };
})();
