// The devices of /admin: one row per device, whether it reported (its health record, from the
// staff socket) or only has an account (admins see accounts), with its state, its last heartbeat
// in branch time and its problem in words. The overview counts these same rows, so "1 of 3
// online" always agrees with the table. window.NextUpDevices = {list, summary, rows}.
(function () {
  "use strict";

  const N = window.NextUp;
  const T = window.NextUpTime;
  const t = N.t;
  const el = N.el;
  const PEOPLE = ["admin", "manager", "staff"];

  function roleWord(role) {
    return Object.prototype.hasOwnProperty.call(N.config.texts, "role." + role) ? t("role." + role) : t("role.other");
  }

  // A duration in words: "40 s", "3 min", "2 h", "3 days".
  function age(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 60) return t("admin.age.seconds", { n: s });
    if (s < 3600) return t("admin.age.minutes", { n: Math.floor(s / 60) });
    if (s < 86400) return t("admin.age.hours", { n: Math.floor(s / 3600) });
    return t("admin.age.days", { n: Math.floor(s / 86400) });
  }

  // Every device once: [{name, role, record (health) | null, account | null, online}], by name.
  function list(health, users) {
    const records = new Map((health || []).map((d) => [d.device, d]));
    const accounts = new Map((users || []).filter((u) => !PEOPLE.includes(u.role)).map((u) => [u.username, u]));
    const names = [...new Set([...records.keys(), ...accounts.keys()])].sort();
    return names.map((name) => {
      const record = records.get(name) || null;
      const account = accounts.get(name) || null;
      const role = (account && account.role) || (record && record.role) || "";
      return { name: name, role: role, record: record, account: account, online: Boolean(record && record.online) };
    });
  }

  function summary(devices) {
    if (!devices.length) return t("admin.devices_none");
    return t("admin.devices_summary", { online: devices.filter((d) => d.online).length, total: devices.length });
  }

  function stateText(device) {
    const state = device.online ? t("admin.online") : device.record ? t("admin.offline") : t("admin.never");
    return state + (device.account && device.account.disabled ? " · " + t("admin.disabled") : "");
  }

  // What is wrong with the device, in words; "Working" when nothing is.
  function problems(device) {
    if (device.account && device.account.disabled) return [t("admin.device.disabled")];
    if (!device.record) return [t("admin.device.never")];
    if (!device.online) return [t("admin.device.silent", { age: age(device.record.heartbeat_age_s) })];
    const found = device.record.printer ? printerProblems(device.record.printer) : [];
    return found.length ? found.map((name) => t("admin.printer." + name)) : [t("admin.device.ok")];
  }

  // A kiosk printer's conditions (admin.printer.*), worst first. Its error text is the printer
  // driver's English; it is only named as a fault when no condition explains it.
  function printerProblems(printer) {
    if (!printer.online) return ["offline"];
    const found = ["paper_out", "cover_open"].filter((name) => printer[name]);
    if (!found.length && printer.error) found.push("error");
    if (printer.paper_near_end && !printer.paper_out) found.push("paper_near_end");
    return found;
  }

  function heartbeat(record) {
    if (!record || !record.last_heartbeat) return "";
    return t("admin.heartbeat_ago", { time: T.when(record.last_heartbeat), age: age(record.heartbeat_age_s) });
  }

  // The table rows; `action(device)` gives the last cell's content (the admin's button) or "".
  function rows(devices, action) {
    const cell = (...children) => el("td", {}, children);
    return devices.map((device) => {
      const found = problems(device);
      const healthy = device.online && found.length === 1 && found[0] === t("admin.device.ok");
      return el("tr", { dataset: { device: device.name, online: String(device.online), role: device.role } }, [
        cell(el("span", { text: device.name })),
        cell(el("span", { text: device.role ? roleWord(device.role) : "" })),
        cell(el("span", { text: stateText(device), class: device.online ? "status-ok" : "status-bad" })),
        cell(el("span", { text: heartbeat(device.record) })),
        cell(el("span", { text: found.join(t("admin.audit.part_separator")), class: healthy ? "" : "problem" })),
        cell(el("span", { text: (device.record && device.record.address) || "" })),
        cell(action(device)),
      ]);
    });
  }

  window.NextUpDevices = { list, summary, rows, roleWord };
})();
