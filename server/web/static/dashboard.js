// The manager's dashboard: today's metrics, the queues and counters live, charts by hour (inline
// SVG drawn here, nothing loaded from the internet), staff, and the same weekday of past weeks.
// Every figure and name reaches the page through textContent (N.el) or an SVG text node.
(function () {
  "use strict";

  const N = window.NextUp;
  const config = N.config;
  const dash = config.dashboard;
  const t = N.t;
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const STAFF_NAME_COLLATOR = new Intl.Collator(config.lang === "zh" ? "zh-CN" : "en");

  let today = null; // today's report (GET /metrics)
  let state = null; // the branch state (GET /state or the staff socket)
  let comparedFor = null; // the day the comparison was loaded for
  let compared = []; // [{day, report}] previous weeks, most recent first
  let socket = null;

  // --- formatting --------------------------------------------------------------------------------

  const missing = (value) => value === null || value === undefined;
  const count = (value) => (missing(value) ? "—" : String(value));
  const percent = (share) => (missing(share) ? "—" : Math.round(share * 100) + "%");
  const duration = (seconds) => N.duration(seconds);
  const minutes = (value) => (missing(value) ? "—" : t("dashboard.minutes", { minutes: value }));

  function cell(field, value, text) {
    return N.el("td", { text: text, dataset: { field: field, value: missing(value) ? "" : String(value) } });
  }

  function show(id, value, text) {
    const node = $(id);
    node.textContent = text;
    node.dataset.value = missing(value) ? "" : String(value);
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function addDays(day, days) {
    const moment = new Date(day + "T00:00:00Z");
    moment.setUTCDate(moment.getUTCDate() + days);
    return moment.toISOString().slice(0, 10);
  }

  function serviceName(id) {
    const fromState = state && state.services.find((s) => s.id === id);
    const fromConfig = dash.services.find((s) => s.id === id);
    return N.nameOf(fromState || fromConfig) || id;
  }

  function counterName(id) {
    const fromState = state && state.counters.find((c) => c.id === id);
    const fromConfig = dash.counters.find((c) => c.id === id);
    return N.nameOf(fromState || fromConfig) || id;
  }

  // --- today, live -------------------------------------------------------------------------------

  function renderTiles() {
    const totals = today.totals;
    const live = today.live || {};
    $("today-date").textContent = today.to;
    $("generated-at").textContent = (today.generated_at || "").slice(11, 19);
    show("kpi-waiting", live.waiting, count(live.waiting));
    show("kpi-longest-wait", live.longest_wait_s, duration(live.longest_wait_s));
    show("kpi-service-level", totals.service_level, percent(totals.service_level));
    $("kpi-service-level-goal").textContent = t("dashboard.service_level_goal", { goal: percent(dash.service_level_goal) });
    show("kpi-issued", totals.issued, count(totals.issued));
    show("kpi-served", totals.served, count(totals.served));
    show("kpi-no-shows", totals.no_shows, count(totals.no_shows));
    show("kpi-mean-wait", totals.wait.mean_s, duration(totals.wait.mean_s));
    show("kpi-mean-handling", totals.handling.mean_s, duration(totals.handling.mean_s));
    const csv = N.branchPath("/metrics?format=csv&from=" + today.to + "&to=" + today.to);
    $("export-csv").setAttribute("href", csv);
  }

  function renderQueues() {
    const services = state ? state.services : dash.services.map((s) => ({ id: s.id, waiting: null, priority_waiting: null }));
    const rows = services.map((entry) => {
      const configured = dash.services.find((s) => s.id === entry.id) || {};
      const open = state
        ? state.counters.filter((c) => c.status === "open" && (c.services || []).includes(entry.id)).length
        : null;
      const figures = today && today.by_service[entry.id];
      const level = figures ? figures.service_level : null;
      return N.el("tr", { dataset: { service: entry.id } }, [
        N.el("td", { text: entry.id + " " + serviceName(entry.id) }),
        cell("waiting", entry.waiting, count(entry.waiting)),
        cell("priority_waiting", entry.priority_waiting, count(entry.priority_waiting)),
        cell("open_counters", open, count(open)),
        cell("target_wait_min", configured.target_wait_min, minutes(configured.target_wait_min)),
        cell("service_level", level, percent(level)),
      ]);
    });
    fill($("queues").tBodies[0], rows);
  }

  function renderCounters() {
    const live = (today && today.live && today.live.counters) || {};
    const ids = state ? state.counters.map((c) => c.id) : dash.counters.map((c) => c.id);
    const rows = ids.map((id) => {
      const now = state && state.counters.find((c) => c.id === id);
      const figures = today && today.by_counter[id];
      const status = now ? now.status : null;
      let statusText = status ? N.stateWord(status) : "—";
      if (now && now.reason) statusText += " (" + now.reason + ")";
      const who = (now && (now.holder || now.staff)) || (live[id] && live[id].staff) || null;
      const current = now && now.current ? now.current.number : null;
      return N.el("tr", { dataset: { counter: id, status: status || "" } }, [
        N.el("td", { text: counterName(id) }),
        cell("status", status, statusText),
        cell("staff", who, who || t("dashboard.nobody")),
        cell("current", current, current || t("dashboard.nobody")),
        cell("served", figures ? figures.served : null, count(figures ? figures.served : null)),
        cell("utilisation", figures ? figures.utilisation : null, percent(figures ? figures.utilisation : null)),
      ]);
    });
    fill($("counters").tBodies[0], rows);
  }

  // --- by hour -----------------------------------------------------------------------------------

  function hoursOf(report) {
    const busy = Object.keys(report.by_hour).filter((hour) => {
      const h = report.by_hour[hour];
      return h.issued || h.called || h.served || h.open_s;
    });
    if (!busy.length) return [];
    const first = Math.min(...busy.map(Number));
    const last = Math.max(...busy.map(Number));
    const hours = [];
    for (let h = first; h <= last; h += 1) hours.push(String(h).padStart(2, "0"));
    return hours;
  }

  function svg(tag, attributes, children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    for (const child of children || []) node.append(child);
    return node;
  }

  function label(x, y, text, className) {
    const node = svg("text", { x: x, y: y, class: className || "axis-label" });
    node.textContent = text;
    return node;
  }

  function tooltip(text) {
    const node = svg("title");
    node.textContent = text;
    return node;
  }

  // Axis labels are 16 units high: at least 14 px wherever the chart is at least 560 px wide
  // (half the page at 1366 px; the charts stack below 1000 px).
  const CHART = { width: 640, height: 240, left: 56, right: 10, top: 14, bottom: 30 };

  function frame(hours, top, unit) {
    const plotH = CHART.height - CHART.top - CHART.bottom;
    const group = svg("g");
    for (const fraction of [0, 0.5, 1]) {
      const y = CHART.top + plotH * (1 - fraction);
      group.append(svg("line", { x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y, class: "grid" }));
      group.append(label(CHART.left - 4, y + 5, String(Math.round(top * fraction * 10) / 10) + unit, "axis-label y"));
    }
    const slot = (CHART.width - CHART.left - CHART.right) / Math.max(hours.length, 1);
    hours.forEach((hour, i) => group.append(label(CHART.left + slot * (i + 0.5), CHART.height - 8, hour, "axis-label x")));
    return { group: group, slot: slot, plotH: plotH };
  }

  // The legend is HTML under the chart, in the page's own text size: SVG text would shrink with
  // the chart's width.
  function legend(items) {
    return N.el("ul", { class: "chart-legend" }, items.map(([text, className]) => N.el("li", {}, [
      N.el("span", { class: "swatch " + className }), N.el("span", { class: "legend-label", text: text }),
    ])));
  }

  function arrivalsChart(hours) {
    const values = hours.map((h) => today.by_hour[h] || { issued: 0, served: 0 });
    const top = Math.max(1, ...values.map((v) => Math.max(v.issued, v.served)));
    const { group, slot, plotH } = frame(hours, top, "");
    const chart = svg("svg", { viewBox: "0 0 " + CHART.width + " " + CHART.height, role: "img", class: "chart-svg",
      "aria-label": t("dashboard.arrivals_vs_served") }, [group]);
    const bar = Math.max(2, slot * 0.35);
    values.forEach((v, i) => {
      const x = CHART.left + slot * i + slot / 2;
      const pairs = [["issued", v.issued, "bar-arrivals", x - bar], ["served", v.served, "bar-served", x]];
      for (const [field, value, className, left] of pairs) {
        const height = (plotH * value) / top;
        chart.append(svg("rect", {
          x: left, y: CHART.top + plotH - height, width: bar, height: height, class: className,
          "data-hour": hours[i], "data-field": field, "data-value": value,
        }, [tooltip(hours[i] + ":00 " + t(field === "issued" ? "dashboard.arrivals" : "dashboard.served") + " " + value)]));
      }
    });
    return [chart, legend([[t("dashboard.arrivals"), "bar-arrivals"], [t("dashboard.served"), "bar-served"]])];
  }

  function waitsChart(hours) {
    const points = hours.map((h) => (today.by_hour[h] || { wait: {} }).wait);
    const top = Math.max(1, ...points.map((w) => (w.p90_s || w.mean_s || 0) / 60));
    const { group, slot, plotH } = frame(hours, top, "′");
    const chart = svg("svg", { viewBox: "0 0 " + CHART.width + " " + CHART.height, role: "img", class: "chart-svg",
      "aria-label": t("dashboard.waits_by_hour") }, [group]);
    for (const [field, className] of [["mean_s", "line-mean"], ["p90_s", "line-p90"]]) {
      const coords = [];
      points.forEach((w, i) => {
        if (missing(w[field])) return;
        const x = CHART.left + slot * (i + 0.5);
        const y = CHART.top + plotH * (1 - w[field] / 60 / top);
        coords.push(x + "," + y);
        chart.append(svg("circle", { cx: x, cy: y, r: 3, class: className, "data-hour": hours[i], "data-field": field,
          "data-value": w[field] }, [tooltip(hours[i] + ":00 " + duration(w[field]))]));
      });
      if (coords.length > 1) chart.append(svg("polyline", { points: coords.join(" "), class: className }));
    }
    return [chart, legend([[t("dashboard.mean_wait"), "line-mean"], [t("dashboard.p90_wait"), "line-p90"]])];
  }

  function renderHours() {
    const hours = hoursOf(today);
    $("hours-empty").hidden = hours.length > 0;
    $("chart-arrivals").replaceChildren(...(hours.length ? arrivalsChart(hours) : []));
    $("chart-waits").replaceChildren(...(hours.length ? waitsChart(hours) : []));
    const weekday = (new Date(today.to + "T00:00:00Z").getUTCDay() + 6) % 7; // Monday 0, as the report
    const advice = {};
    for (const entry of today.staffing || []) {
      if (entry.weekday === weekday) advice[String(entry.hour).padStart(2, "0")] = entry;
    }
    const rows = hours.map((hour) => {
      const h = today.by_hour[hour];
      const a = advice[hour];
      return N.el("tr", { dataset: { hour: hour } }, [
        N.el("td", { text: hour + ":00" }),
        cell("issued", h ? h.issued : 0, count(h ? h.issued : 0)),
        cell("served", h ? h.served : 0, count(h ? h.served : 0)),
        cell("wait_mean_s", h ? h.wait.mean_s : null, duration(h ? h.wait.mean_s : null)),
        cell("wait_p90_s", h ? h.wait.p90_s : null, duration(h ? h.wait.p90_s : null)),
        cell("service_level", h ? h.service_level : null, percent(h ? h.service_level : null)),
        cell("open_counters", a ? a.open_counters : null, a ? a.open_counters.toFixed(1) : "—"),
        cell("needed_counters", a ? a.needed_counters : null, count(a ? a.needed_counters : null)),
      ]);
    });
    fill($("hour-table").tBodies[0], rows);
  }

  // --- staff -------------------------------------------------------------------------------------

  function renderStaff() {
    const names = Object.keys(today.by_staff).sort(STAFF_NAME_COLLATOR.compare);
    const rows = names.map((name) => {
      const s = today.by_staff[name];
      return N.el("tr", { dataset: { staff: name } }, [
        N.el("td", { text: name }),
        cell("calls", s.calls, count(s.calls)),
        cell("served", s.served, count(s.served)),
        cell("no_shows", s.no_shows, count(s.no_shows)),
        cell("handling_mean_s", s.handling.mean_s, duration(s.handling.mean_s)),
        cell("handling_median_s", s.handling.median_s, duration(s.handling.median_s)),
        cell("wait_mean_s", s.wait.mean_s, duration(s.wait.mean_s)),
        cell("busy_s", s.busy_s, duration(s.busy_s)),
        cell("utilisation", s.utilisation, percent(s.utilisation)),
        cell("rating_mean", s.rating_mean, s.ratings ? s.rating_mean.toFixed(1) + " (" + s.ratings + ")" : "—"),
      ]);
    });
    fill($("staff").tBodies[0], rows);
  }

  // --- the same weekday of previous weeks --------------------------------------------------------

  const MEASURES = [
    ["issued", "dashboard.issued_count", (s) => s.issued, count],
    ["served", "dashboard.served", (s) => s.served, count],
    ["no_shows", "dashboard.no_shows", (s) => s.no_shows, count],
    ["service_level", "dashboard.service_level", (s) => s.service_level, percent],
    ["wait_mean_s", "dashboard.mean_wait", (s) => s.wait.mean_s, duration],
    ["wait_p90_s", "dashboard.p90_wait", (s) => s.wait.p90_s, duration],
    ["wait_max_s", "dashboard.max_wait", (s) => s.wait.max_s, duration],
    ["handling_mean_s", "dashboard.mean_handling", (s) => s.handling.mean_s, duration],
  ];

  function hadActivity(totals) {
    return totals.issued > 0 || totals.called > 0 || totals.open_s > 0;
  }

  function renderCompare() {
    const columns = [{ day: today.to, totals: today.totals, key: "today" }].concat(
      compared.map((c, i) => ({ day: c.day, totals: c.report ? c.report.totals : null, key: "week-" + (i + 1) })));
    const head = $("compare").tHead.rows[0];
    head.replaceChildren(N.el("th", { text: t("dashboard.measure") }),
      ...columns.map((c) => N.el("th", { text: c.day, dataset: { column: c.key } })),
      N.el("th", { text: t("dashboard.weeks_average"), dataset: { column: "average" } }));
    const past = compared.filter((c) => c.report && hadActivity(c.report.totals)).map((c) => c.report.totals);
    const rows = MEASURES.map(([field, key, pick, format]) => {
      const cells = columns.map((c) => {
        const value = c.totals && (c.key === "today" || hadActivity(c.totals)) ? pick(c.totals) : null;
        const td = cell(field, value, format(value));
        td.dataset.column = c.key;
        return td;
      });
      const values = past.map(pick).filter((v) => !missing(v));
      const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
      const average = cell(field, mean, format(mean === null ? null : (format === count ? Math.round(mean * 10) / 10 : mean)));
      average.dataset.column = "average";
      return N.el("tr", { dataset: { measure: field } }, [N.el("td", { text: t(key) }), ...cells, average]);
    });
    fill($("compare").tBodies[0], rows);
  }

  async function loadComparison() {
    const day = today.to;
    comparedFor = day;
    const weeks = [];
    for (let i = 1; i <= dash.compare_weeks; i += 1) weeks.push(addDays(day, -7 * i));
    const replies = await Promise.all(weeks.map((d) => N.api("GET", N.branchPath("/metrics?from=" + d + "&to=" + d))));
    if (comparedFor !== day) return; // the day changed meanwhile: a newer load is on its way
    compared = weeks.map((d, i) => ({ day: d, report: replies[i].status === 200 ? replies[i].data : null }));
    renderCompare();
  }

  // --- loading -----------------------------------------------------------------------------------

  function renderAll() {
    renderTiles();
    renderQueues();
    renderCounters();
    renderHours();
    renderStaff();
    renderCompare();
  }

  let loading = false;
  let again = false;
  async function loadMetrics() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      const reply = await N.api("GET", N.branchPath("/metrics"));
      if (reply.status === 200) {
        today = reply.data;
        renderAll();
        if (comparedFor !== today.to) loadComparison();
      } else if (reply.status !== 401) {
        N.say(N.errorText(reply.data && reply.data.error), "error");
      }
    } finally {
      loading = false;
      if (again) { again = false; loadMetrics(); }
    }
  }

  async function loadState() {
    const reply = await N.api("GET", N.branchPath("/state"));
    if (reply.status === 200) {
      state = reply.data;
      renderQueues();
      renderCounters();
    }
  }

  // Events come in bursts (a call, a finish): reload the metrics once the burst is over.
  let pending = null;
  function metricsSoon() {
    clearTimeout(pending);
    pending = setTimeout(loadMetrics, 400);
  }

  $("logout").addEventListener("click", N.logout);
  loadState().then(loadMetrics);
  socket = N.liveSocket({}, (message) => {
    if (message.type !== "branch" || !message.state) return;
    state = message.state;
    renderQueues();
    renderCounters();
    metricsSoon();
  });
  setInterval(() => {
    loadMetrics();
    if (!socket.status.connected) loadState();
  }, dash.refresh_s * 1000);
  window.NextUpDashboard = { reload: loadMetrics, socket: socket };
})();
