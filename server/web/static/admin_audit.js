// The audit log of /admin in words: each entry's time in branch time under a heading per day, who
// did it (with their role), the action as the catalogue names it (admin.audit.action.*) and what
// it concerns: ticket numbers (never ticket ids), counters and services by name, a notice's text,
// which account changed and how. Whatever a person typed (a pause reason, a notice) is text,
// never markup. window.NextUpAudit = {rows}.
(function () {
  "use strict";

  const N = window.NextUp;
  const T = window.NextUpTime;
  const D = window.NextUpDevices;
  const t = N.t;
  const el = N.el;
  const has = (key) => Object.prototype.hasOwnProperty.call(N.config.texts, key);

  // Configuration fields as the admin page labels them; the hours' days by their names.
  const FIELD_TEXTS = {
    prefix: "admin.prefix", name_zh: "admin.name_zh", name_en: "admin.name_en",
    target_wait_min: "admin.target_wait_min", daily_cap: "admin.daily_cap",
    stop_issuing_before_close_min: "admin.stop_issuing", average_handling_s: "admin.average_handling_s",
    services: "admin.services", initial_status: "admin.initial_status", closed_dates: "admin.closed_dates",
    timezone: "admin.timezone", number_width: "admin.number_width", priority_cap: "admin.priority_cap",
    no_show_window_min: "admin.no_show_window_min", no_show_places_back: "admin.no_show_places_back",
    allow_priority: "admin.allow_priority",
  };

  function listOf(items) {
    return items.join(t("admin.audit.list_separator"));
  }

  function isCleared(details) {
    return "text_zh" in details && !details.text_zh && !details.text_en;
  }

  function actionText(entry) {
    if (entry.action === "notice_posted" && isCleared(entry.details || {})) return t("admin.audit.action.notice_cleared");
    const key = "admin.audit.action." + entry.action;
    return has(key) ? t(key) : t("admin.audit.action.other");
  }

  function fieldWords(part, fields) {
    const words = fields.map((name) => {
      if (part === "hours" && has("admin.weekday." + name)) return t("admin.weekday." + name);
      return FIELD_TEXTS[name] ? t(FIELD_TEXTS[name]) : t("admin.audit.field.other");
    });
    return listOf([...new Set(words)]);
  }

  function configText(details, names) {
    if (!details.part || !has("admin.audit.part." + details.part)) return t("admin.audit.not_recorded");
    // The names the entry recorded (a deleted item has no other), else today's.
    const recorded = details.name_zh || details.name_en ? N.nameOf(details) : "";
    const name = details.part === "service" ? [details.id, recorded || names.service(details.id)].join(" ")
      : recorded || names.counter(details.id);
    const what = t("admin.audit.part." + details.part, { name: name });
    const fields = details.fields || [];
    if (details.change === "changed" && !fields.length) return t("admin.audit.change.unchanged", { what: what });
    return t("admin.audit.change." + (details.change || "changed"), { what: what, fields: fieldWords(details.part, fields) });
  }

  function noticeText(details) {
    if (!("text_zh" in details)) return t("admin.audit.not_recorded");
    const text = [details.text_zh, details.text_en].filter(Boolean).join(" / ");
    if (!text) return "";
    return t(details.emergency ? "admin.audit.emergency_notice" : "admin.audit.notice", { text: text });
  }

  function counterList(ids, names) {
    return ids && ids.length ? listOf(ids.map(names.counter)) : t("admin.audit.no_counters");
  }

  function accountText(entry, names) {
    const d = entry.details;
    const who = d.username || "";
    if (entry.action === "user_created") {
      const account = t("admin.audit.account", { username: who, role: D.roleWord(d.role) });
      // Counters matter to staff (whose work they are) and to anyone given some.
      if (d.role !== "staff" && !(d.counters && d.counters.length)) return account;
      return [account, t("admin.audit.counters", { counters: counterList(d.counters, names) })]
        .join(t("admin.audit.part_separator"));
    }
    if (entry.action === "device_paired") {
      return [t("admin.audit.account", { username: who, role: D.roleWord(d.device_role) }),
        t(d.created ? "admin.audit.paired_new" : "admin.audit.paired_again")].join(t("admin.audit.part_separator"));
    }
    const changes = [];
    if (d.password_reset) changes.push(t("admin.audit.password_reset"));
    if (d.disabled === true) changes.push(t("admin.audit.disabled"));
    if (d.disabled === false) changes.push(t("admin.audit.enabled"));
    if (Array.isArray(d.counters)) changes.push(t("admin.audit.counters_set", { counters: counterList(d.counters, names) }));
    if (d.sessions_ended) changes.push(t("admin.audit.sessions_ended", { count: d.sessions_ended }));
    return [who, ...changes].join(t("admin.audit.part_separator"));
  }

  // What the entry concerns, in words ("" when there is nothing more to say).
  function detailText(entry, names) {
    const d = entry.details || {};
    const action = entry.action || "";
    if (action === "ticket_transferred") {
      return t("admin.audit.transferred", { number: d.number || "", from: names.service(d.from_service),
        to: names.service(d.to_service) });
    }
    if (action.startsWith("ticket_")) {
      return d.counter ? t("admin.audit.ticket_at", { number: d.number || "", counter: names.counter(d.counter) })
        : d.number || "";
    }
    if (action === "counter_paused" && d.reason) {
      return t("admin.audit.paused", { counter: names.counter(d.counter), reason: d.reason });
    }
    if (action.startsWith("counter_")) return names.counter(d.counter);
    if (action.startsWith("emergency_")) return has("emergency.title." + d.kind) ? t("emergency.title." + d.kind) : "";
    if (action === "notice_posted") return noticeText(d);
    if (action === "config_changed") return configText(d, names);
    if (action.startsWith("complaint_")) {
      const about = t("admin.audit.complaint", { number: d.number || "" });
      return d.counter ? [about, names.counter(d.counter)].join(t("admin.audit.part_separator")) : about;
    }
    if (action.startsWith("user_") || action === "device_paired") return accountText(entry, names);
    return "";
  }

  // The table rows, newest first, with a heading row at each new day. `names` has
  // counter(id) and service(id, withId) from the branch's configuration.
  function rows(entries, names) {
    const cell = (text, className) => el("td", { text: text, class: className || "" });
    const out = [];
    let day = null;
    for (const entry of entries) {
      const key = T.dayKey(entry.at);
      if (key !== day) {
        day = key;
        out.push(el("tr", { class: "audit-day" }, [el("th", { colSpan: 5, scope: "colgroup", text: T.day(entry.at) })]));
      }
      out.push(el("tr", { dataset: { action: entry.action || "", id: entry.id || "" } }, [
        cell(T.time(entry.at), "audit-time"),
        el("td", {}, [el("span", { text: entry.actor || "" }), el("span", { class: "note", text: " · " + D.roleWord(entry.role) })]),
        cell(actionText(entry), "audit-action"),
        cell(detailText(entry, names), "audit-details"),
        cell(entry.source || "", "note"),
      ]));
    }
    return out;
  }

  window.NextUpAudit = { rows, detailText, actionText };
})();
