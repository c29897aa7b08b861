// Branch administration: every change goes through the JSON API (with the session's CSRF token);
// the live overview and the devices come from the staff websocket, pushed after every event.
// Managers get the same page read-only, except notices and reactivations (the API enforces it).
//
// The devices (admin_devices.js) and the audit log (admin_audit.js) are drawn by their own scripts;
// times are in branch time (branch_time.js).
//
// For tests and diagnostics: window.nextupAdmin = {config, state, devices, socket}.
(function () {
  "use strict";

  const N = window.NextUp;
  const T = window.NextUpTime;
  const Devices = window.NextUpDevices;
  const page = N.config;
  const t = N.t;
  const el = N.el;
  const $ = (id) => document.getElementById(id);
  const isAdmin = page.user.role === "admin";
  const live = { config: null, state: null, devices: [], users: null, socket: null };
  window.nextupAdmin = live;

  // ---- Tabs -----------------------------------------------------------------------------------

  function showSection() {
    const wanted = (window.location.hash || "#overview").slice(1);
    const name = page.sections.includes(wanted) || document.querySelector('[data-section="' + wanted + '"]')
      ? wanted : "overview";
    for (const section of document.querySelectorAll(".admin-section")) section.hidden = section.dataset.section !== name;
    for (const tab of document.querySelectorAll(".tabs a")) tab.setAttribute("aria-current", String(tab.dataset.tab === name));
    if (name === "audit" && isAdmin) loadAudit();
    if ((name === "users" || name === "devices") && isAdmin) loadUsers();
  }

  // ---- Helpers ----------------------------------------------------------------------------------

  async function call(method, path, body, done) {
    const result = await N.api(method, path, body);
    if (result.status === 0 || result.status >= 400) {
      N.say(N.errorText(result.data && result.data.error), "error");
      return null;
    }
    N.say(done || t("admin.saved"), "ok");
    return result;
  }

  function input(name, value, type) {
    const field = el("input", { name: name, type: type || "text" });
    if (type === "checkbox") field.checked = Boolean(value);
    else field.value = value === null || value === undefined ? "" : String(value);
    return field;
  }

  function cell(...children) {
    return el("td", {}, children);
  }

  function button(text, onClick, kind) {
    const b = el("button", { type: "button", text: text, class: kind || "" });
    b.addEventListener("click", onClick);
    return b;
  }

  // A field in a table row is named by its column's header and the row's first cell ("Prefix · A"),
  // so that a screen reader says which field of which row it is in.
  function nameRowFields(table) {
    const headers = [...table.tHead.rows[0].cells].map((th) => th.textContent.trim());
    for (const row of table.tBodies[0].rows) {
      const what = row.cells[0].textContent.trim();
      [...row.cells].forEach((td, i) => {
        for (const field of td.querySelectorAll("input:not([type=checkbox]), select")) {
          if (headers[i]) field.setAttribute("aria-label", headers[i] + " · " + what);
        }
      });
    }
  }

  function checkboxes(name, items, checked) {
    return items.map((item) => {
      const box = input(name, checked.includes(item.id), "checkbox");
      box.value = item.id;
      return el("label", { class: "check" }, [box, " " + (item.label || item.id)]);
    });
  }

  function checkedValues(root, name) {
    return [...root.querySelectorAll('input[name="' + name + '"]:checked')].map((box) => box.value);
  }

  function whole(value) {
    const number = Number(value);
    return Number.isInteger(number) ? number : value;
  }

  function lockForManagers(root) {
    if (isAdmin) return;
    for (const field of root.querySelectorAll("input, select, textarea, button")) {
      if (!field.closest("#reactivate-form, #notice-form")) field.disabled = true;
    }
    for (const part of root.querySelectorAll(".admin-only")) part.hidden = true;
  }

  const branchPath = N.branchPath;

  // ---- Configuration: services, counters, hours, branch settings ------------------------------

  async function loadConfig() {
    const result = await N.api("GET", branchPath("/config"));
    if (result.status !== 200) {
      N.say(N.errorText(result.data && result.data.error), "error");
      return;
    }
    live.config = result.data;
    renderServices();
    renderCounters();
    renderHours();
    renderBranch();
    renderFormChoices();
  }

  const SERVICE_NUMBERS = ["target_wait_min", "daily_cap", "stop_issuing_before_close_min", "average_handling_s"];

  function renderServices() {
    const rows = live.config.services.map((s) => {
      const row = el("tr", { dataset: { service: s.id } });
      const fields = [input("prefix", s.prefix), input("name_zh", s.name_zh), input("name_en", s.name_en),
        ...SERVICE_NUMBERS.map((name) => input(name, s[name], "number"))];
      row.append(cell(el("span", { text: s.id })), ...fields.map((f) => cell(f)), cell(
        button(t("admin.save"), () => {
          const body = {};
          for (const f of fields) body[f.name] = SERVICE_NUMBERS.includes(f.name) ? whole(f.value) : f.value;
          call("PUT", branchPath("/config/services/" + encodeURIComponent(s.id)), body).then(loadConfig);
        }),
        " ",
        button(t("admin.delete"), () => {
          call("DELETE", branchPath("/config/services/" + encodeURIComponent(s.id)), undefined, t("admin.deleted"))
            .then(loadConfig);
        }, "danger"),
      ));
      return row;
    });
    $("services-table").tBodies[0].replaceChildren(...rows);
    nameRowFields($("services-table"));
    lockForManagers($("section-services"));
  }

  function renderCounters() {
    const services = live.config.services.map((s) => ({ id: s.id, label: s.id + " " + N.nameOf(s) }));
    const rows = live.config.counters.map((c) => {
      const row = el("tr", { dataset: { counter: c.id } });
      const nameZh = input("name_zh", c.name_zh);
      const nameEn = input("name_en", c.name_en);
      const serves = el("div", {}, checkboxes("services", services, c.services));
      const status = el("select", { name: "initial_status" }, ["open", "closed"].map(
        (value) => el("option", { value: value, text: N.stateWord(value), selected: c.initial_status === value })));
      row.append(cell(el("span", { text: c.id })), cell(nameZh), cell(nameEn), cell(serves), cell(status), cell(
        button(t("admin.save"), () => {
          call("PUT", branchPath("/config/counters/" + encodeURIComponent(c.id)), {
            name_zh: nameZh.value, name_en: nameEn.value, services: checkedValues(serves, "services"),
            initial_status: status.value,
          }).then(loadConfig);
        }),
        " ",
        button(t("admin.delete"), () => {
          call("DELETE", branchPath("/config/counters/" + encodeURIComponent(c.id)), undefined, t("admin.deleted"))
            .then(loadConfig);
        }, "danger"),
      ));
      return row;
    });
    $("counters-table").tBodies[0].replaceChildren(...rows);
    nameRowFields($("counters-table"));
    lockForManagers($("section-counters"));
  }

  function renderHours() {
    const form = $("hours-form");
    const hours = live.config.hours;
    for (const day of page.weekdays) {
      const value = hours[day];
      form.elements[day].value = Array.isArray(value) ? value.join(", ") : String(value || "closed");
    }
    form.elements.closed_dates.value = (hours.closed_dates || []).join("\n");
    lockForManagers($("section-hours"));
  }

  function renderBranch() {
    const form = $("branch-form");
    const branch = live.config.branch;
    for (const field of form.elements) {
      if (!field.name || !(field.name in branch)) continue;
      if (field.type === "checkbox") field.checked = Boolean(branch[field.name]);
      else field.value = String(branch[field.name]);
    }
    lockForManagers($("section-hours"));
  }

  function renderFormChoices() {
    const counters = live.config.counters.map((c) => ({ id: c.id, label: N.nameOf(c) }));
    const services = live.config.services.map((s) => ({ id: s.id, label: s.id + " " + N.nameOf(s) }));
    const legend = (id) => $(id).querySelector("legend");
    $("service-form-counters").replaceChildren(legend("service-form-counters"), ...checkboxes("counters", counters, []));
    $("counter-form-services").replaceChildren(legend("counter-form-services"), ...checkboxes("services", services, []));
    if ($("user-form-counters")) {
      $("user-form-counters").replaceChildren(legend("user-form-counters"), ...checkboxes("counters", counters, []));
    }
    lockForManagers($("section-services"));
    lockForManagers($("section-counters"));
  }

  function bindConfigForms() {
    $("service-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { prefix: form.elements.prefix.value.trim(), name_zh: form.elements.name_zh.value,
        name_en: form.elements.name_en.value, counters: checkedValues(form, "counters") };
      if (await call("PUT", branchPath("/config/services/" + encodeURIComponent(form.elements.id.value.trim())), body)) {
        form.reset();
        loadConfig();
      }
    });
    $("counter-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { name_zh: form.elements.name_zh.value, name_en: form.elements.name_en.value,
        services: checkedValues(form, "services") };
      if (await call("PUT", branchPath("/config/counters/" + encodeURIComponent(form.elements.id.value.trim())), body)) {
        form.reset();
        loadConfig();
      }
    });
    $("hours-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const body = {};
      for (const day of page.weekdays) {
        const text = form.elements[day].value.trim();
        const parts = text.split(/[\s,，;；]+/).filter(Boolean);
        body[day] = !parts.length || text.toLowerCase() === "closed" ? "closed" : parts;
      }
      body.closed_dates = form.elements.closed_dates.value.split(/[\s,，;；]+/).filter(Boolean);
      call("PUT", branchPath("/config/hours"), body).then(loadConfig);
    });
    $("branch-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const body = {};
      for (const field of event.target.elements) {
        if (!field.name) continue;
        if (field.type === "checkbox") body[field.name] = field.checked;
        else if (field.type === "number") body[field.name] = whole(field.value);
        else body[field.name] = field.value;
      }
      call("PUT", branchPath("/config/branch"), body).then(loadConfig);
    });
  }

  // ---- Accounts and devices ---------------------------------------------------------------------

  const PEOPLE = ["admin", "manager", "staff"];

  async function loadUsers() {
    if (!isAdmin) return;
    const result = await N.api("GET", "/api/users");
    if (result.status !== 200) return;
    live.users = result.data.users;
    renderUsers();
    renderDevices();
  }

  function patchUser(username, body) {
    return call("PATCH", "/api/users/" + encodeURIComponent(username), body).then(loadUsers);
  }

  function renderUsers() {
    if (!$("users-table") || !live.config) return;
    const counters = live.config.counters.map((c) => ({ id: c.id, label: N.nameOf(c) }));
    const rows = live.users.filter((u) => PEOPLE.includes(u.role)).map((u) => {
      const row = el("tr", { dataset: { username: u.username } });
      const boxes = el("div", {}, checkboxes("counters", counters, u.counters));
      const password = input("password", "", "password");
      password.autocomplete = "new-password";
      password.placeholder = t("admin.new_password");
      row.append(
        cell(el("span", { text: u.username })),
        cell(el("span", { text: Devices.roleWord(u.role), dataset: { role: u.role } })),
        cell(boxes, button(t("admin.save"), () => patchUser(u.username, { counters: checkedValues(boxes, "counters") }))),
        cell(el("span", { text: u.disabled ? t("admin.disabled") + " " : "" }),
          button(u.disabled ? t("admin.enable") : t("admin.disable"),
            () => patchUser(u.username, { disabled: !u.disabled }), u.disabled ? "" : "danger")),
        cell(password, button(t("admin.reset_password"), () => patchUser(u.username, { password: password.value }))),
      );
      return row;
    });
    $("users-table").tBodies[0].replaceChildren(...rows);
    nameRowFields($("users-table"));
  }

  // The devices seen (health records) and, for an admin, this branch's device accounts: one row each.
  function deviceList() {
    return Devices.list(live.devices, (live.users || []).filter((u) => u.branch === page.branch.id));
  }

  function renderDevices() {
    $("devices-table").tBodies[0].replaceChildren(...Devices.rows(deviceList(), (device) => {
      const account = device.account;
      if (!isAdmin || !account) return "";
      return button(account.disabled ? t("admin.enable") : t("admin.revoke"),
        () => patchUser(device.name, { disabled: !account.disabled }), account.disabled ? "" : "danger");
    }));
    $("overview-devices").textContent = Devices.summary(deviceList());
  }

  function bindAccountForms() {
    if ($("user-form")) {
      $("user-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const form = event.target;
        const body = { username: form.elements.username.value.trim(), password: form.elements.password.value,
          role: form.elements.role.value, counters: checkedValues(form, "counters") };
        if (await call("POST", "/api/users", body)) {
          form.reset();
          loadUsers();
        }
      });
    }
    if ($("pair-form")) {
      // Pairing is how displays and kiosks get their credential: the device shows a code, the admin
      // names it here, the device then fetches its own token. This page never shows a token.
      $("pair-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const form = event.target;
        const body = { code: form.elements.code.value.replace(/\s+/g, ""), name: form.elements.name.value.trim() };
        const result = await N.api("POST", branchPath("/pairing"), body);
        const line = $("pair-result");
        if (result.status === 201) {
          line.textContent = t("admin.paired", { name: result.data.name, role: Devices.roleWord(result.data.role) });
          line.dataset.kind = "ok";
          N.say(line.textContent, "ok");
          form.reset();
          loadUsers();
        } else {
          const error = result.data && result.data.error;
          line.textContent = result.status === 404 ? t("admin.pair_unknown") : N.errorText(error);
          line.dataset.kind = "error";
          N.say(line.textContent, "error");
        }
        line.hidden = false;
      });
    }
  }

  // ---- Notices, reactivations, audit ------------------------------------------------------------

  function noticeText(notice) {
    if (!notice) return t("admin.no_notice");
    return [notice.text_zh, notice.text_en].filter(Boolean).join(" / ") + (notice.emergency ? " · " + t("admin.emergency") : "");
  }

  function bindNoticeForms() {
    $("notice-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { emergency: form.elements.emergency.checked };
      if (form.elements.text_zh.value.trim()) body.text_zh = form.elements.text_zh.value;
      if (form.elements.text_en.value.trim()) body.text_en = form.elements.text_en.value;
      call("POST", branchPath("/notice"), body);
    });
    $("notice-clear").addEventListener("click", () => call("POST", branchPath("/notice"), {}));
    $("reactivate-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const counter = form.elements.counter.value;
      const number = form.elements.number.value.trim().toUpperCase();
      if (await call("POST", branchPath("/counters/" + encodeURIComponent(counter) + "/reactivate"), { number: number })) {
        form.elements.number.value = "";
      }
    });
  }

  let auditTimer = null;
  async function loadAudit() {
    clearTimeout(auditTimer);
    const result = await N.api("GET", branchPath("/audit?count=200"));
    if (result.status !== 200) return;
    const entries = result.data.entries;
    $("audit-empty").hidden = entries.length > 0;
    $("audit-table").tBodies[0].replaceChildren(...NextUpAudit.rows(entries, { counter: counterName, service: serviceName }));
  }

  // Names from the branch's configuration (or its live state); a deleted counter or service by its id.
  function counterName(id) {
    const c = [...((live.config && live.config.counters) || []), ...((live.state && live.state.counters) || [])]
      .find((x) => x.id === id);
    return c ? N.nameOf(c) : id || "";
  }

  function serviceName(id, withId) {
    const s = live.config && live.config.services.find((x) => x.id === id);
    if (!s) return id || "";
    return withId ? s.id + " " + N.nameOf(s) : N.nameOf(s);
  }

  // ---- The live overview --------------------------------------------------------------------------

  function renderOverview() {
    const state = live.state;
    $("overview-counters").tBodies[0].replaceChildren(...state.counters.map((c) => el("tr", { dataset: { counter: c.id } }, [
      cell(el("span", { text: N.nameOf(c) })),
      cell(el("span", { class: "badge", text: N.stateWord(c.status), dataset: { status: c.status } })),
      cell(el("span", { text: c.reason || "" })),
      cell(el("span", { text: c.holder || "" })),
      cell(el("span", { class: "number", text: c.current ? c.current.number : "" })),
    ])));
    $("overview-services").tBodies[0].replaceChildren(...state.services.map((s) => el("tr", { dataset: { service: s.id } }, [
      cell(el("span", { text: s.id })), cell(el("span", { text: s.name_zh })), cell(el("span", { text: s.name_en })),
      cell(el("span", { class: "count", text: String(s.waiting) })),
      cell(el("span", { text: String(s.priority_waiting) })),
    ])));
    $("overview-recent").replaceChildren(...state.recent_calls.map((call) => el("li", {
      text: call.number + " → " + counterName(call.counter) + " · " + T.time(call.at),
    })));
    $("overview-notice").textContent = noticeText(state.notice);
    $("notice-current").textContent = noticeText(state.notice);
    const select = $("reactivate-counter");
    const chosen = select.value;
    select.replaceChildren(...state.counters.map((c) => el("option", { value: c.id, text: N.nameOf(c) })));
    if (chosen) select.value = chosen;
  }

  function show(message) {
    if (message.type !== "branch") return;
    live.state = message.state;
    live.devices = message.devices || [];
    renderOverview();
    renderDevices();
    const events = message.events || [];
    if (events.includes("config_changed")) loadConfig();
    if (isAdmin && events.length && !$("section-audit").hidden) {
      clearTimeout(auditTimer);
      auditTimer = setTimeout(loadAudit, 500);
    }
  }

  $("logout").addEventListener("click", () => N.logout());
  window.addEventListener("hashchange", showSection);
  bindConfigForms();
  bindAccountForms();
  bindNoticeForms();
  showSection();
  loadConfig().then(loadUsers);
  live.socket = N.liveSocket({}, show, (code, reason) => N.say(reason || String(code), "error"));
})();
