// Lobby display: follows /ws/branches/{branch}/display and shows, highlights and announces calls.
// Plain JavaScript, no dependencies, nothing loaded from the internet. Text from the server goes
// into the page with textContent only.
//
// For tests and diagnostics the page exposes:
//   window.nextupLoadId         set once per page load (a reload changes it)
//   window.nextupAnnouncements  every call to announce, in arrival order: {zh, en, number, counter, at}
//   window.nextupSpeaking       the announcement now being made, or null
//   window.nextupHighlights     every highlight shown, in order: {number, counter, at, kind}
//   window.nextupDisplay        {seq, connected, connects, snapshots, events}
//   window.nextupVoices         the voices this screen reported to the server: {zh, en, languages}
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("nextup-config").textContent);

  // A token typed into the address (?token=) is now in the page's HttpOnly cookie, which the
  // socket sends: take it out of the address bar and the history.
  (function forgetTokenInAddress() {
    const here = new URL(window.location.href);
    if (!here.searchParams.has("token")) return;
    here.searchParams.delete("token");
    window.history.replaceState(null, "", here.pathname + here.search + here.hash);
  })();

  // A moment per call: highlighted at least this long, and longer while it is being spoken.
  const HIGHLIGHT_MIN_MS = 4000;
  // Shorter when more calls wait, so a burst does not leave the last one unshown for minutes.
  const HIGHLIGHT_BUSY_MS = 2500;
  const CHIME_MS = 900;
  const RECENT_SHOWN = 8;
  // After a refusal (bad token, unknown branch) retrying soon cannot help.
  const REFUSED_RETRY_MS = 30000;
  const CLOSE = NextUpSocket.CLOSE;
  const ZH_DIGITS = "零一二三四五六七八九";

  window.nextupLoadId = Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  window.nextupAnnouncements = [];
  window.nextupHighlights = [];
  window.nextupSpeaking = null;
  const status = { seq: null, connected: false, connects: 0, snapshots: 0, events: 0 };
  window.nextupDisplay = status;

  const counterInfo = new Map(config.counters.map((c) => [c.id, c]));
  const shownServices = new Set(config.services.map((s) => s.id));
  const speakZh = config.lang !== "en";
  const speakEn = config.lang !== "zh";

  // A text of the catalogue (config.texts: key -> {zh, en}) in one language, placeholders filled.
  function text(lang, key, values) {
    const template = (config.texts[key] || {})[lang] || key;
    return template.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? String(values[name]) : ""));
  }

  // ---- State, changed only by snapshots and events --------------------------------------

  let counters = new Map(); // id -> {status, reason, current: ticket | null}
  let recent = []; // newest first: {number, counter, service, at}
  let waiting = new Map(); // service -> count
  let lastSeq = null; // [ms, n] of the last message applied

  function parseSeq(seq) {
    const match = /^(\d+)-(\d+)$/.exec(seq || "");
    return match ? [Number(match[1]), Number(match[2])] : null;
  }

  function after(a, b) {
    return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
  }

  function callShown(counter, service) {
    return counterInfo.has(counter) && shownServices.has(service);
  }

  function applySnapshot(message) {
    const state = message.state || {};
    counters = new Map();
    for (const c of state.counters || []) {
      counters.set(c.id, { status: c.status, reason: c.reason || "", current: c.current || null });
    }
    waiting = new Map();
    for (const s of state.services || []) waiting.set(s.id, s.waiting || 0);
    recent = collapseRecalls((state.recent_calls || []).filter((c) => callShown(c.counter, c.service)));
    if (state.notice) showNotice(state.notice);
    status.snapshots += 1;
    document.body.dataset.synced = "true";
    render();
    if (recent.length && !moment) showSpotlight(recent[0], false);
  }

  // A recall is the same call made again: one row, moved to the top and marked, not a duplicate.
  // The snapshot lists a recall as a second entry of the same number at the same counter.
  function collapseRecalls(calls) {
    const rows = [];
    for (const c of calls) {
      const first = rows.find((r) => r.number === c.number && r.counter === c.counter);
      if (first) first.recall = true;
      else rows.push({ ...c, recall: Boolean(c.recall) });
    }
    return rows;
  }

  function adjustWaiting(service, delta) {
    waiting.set(service, Math.max(0, (waiting.get(service) || 0) + delta));
  }

  function counterState(id) {
    if (!counters.has(id)) counters.set(id, { status: "open", reason: "", current: null });
    return counters.get(id);
  }

  function applyEvent(message) {
    const ticket = message.ticket || null;
    switch (message.type) {
      case "ticket_issued":
      case "ticket_reactivated":
        adjustWaiting(ticket.service, +1);
        break;
      case "ticket_cancelled":
        adjustWaiting(ticket.service, -1);
        break;
      case "ticket_called":
        adjustWaiting(ticket.service, -1);
        call(message);
        break;
      case "ticket_recalled":
        call(message);
        break;
      case "ticket_served":
      case "ticket_no_show": {
        const c = counterState(message.counter);
        if (c.current && c.current.number === ticket.number) c.current = null;
        break;
      }
      case "ticket_transferred":
        adjustWaiting(message.to_service, +1);
        if (message.counter) counterState(message.counter).current = null;
        else adjustWaiting(message.from_service, -1);
        break;
      case "counter_opened":
      case "counter_paused":
      case "counter_closed": {
        const c = counterState(message.counter);
        c.status = message.status;
        c.reason = message.reason || "";
        if (message.status !== "open") c.current = null;
        break;
      }
      case "notice_posted":
        showNotice(message);
        if (message.emergency) announceNotice(message);
        break;
      case "config_changed":
        // Counters, services or names may have changed: reload the page once nothing is being announced.
        reloadPending = true;
        reloadWhenIdle();
        return;
      default:
        return; // an event this page does not know: nothing to show
    }
    status.events += 1;
    render();
  }

  let reloadPending = false;
  function reloadWhenIdle() {
    if (reloadPending && !moment) setTimeout(() => window.location.reload(), 2000);
  }

  function call(message) {
    const ticket = message.ticket;
    counterState(message.counter).current = ticket;
    if (!callShown(message.counter, ticket.service)) return;
    const recall = message.type === "ticket_recalled";
    const row = { number: ticket.number, counter: message.counter, service: ticket.service, at: message.at, recall };
    recent = collapseRecalls([row, ...recent]).slice(0, 10);
    announce(ticket.number, message.counter, message.at, message.type === "ticket_recalled" ? "recall" : "call");
  }

  function handle(message) {
    if (message.type === "snapshot") {
      applySnapshot(message);
      lastSeq = parseSeq(message.seq);
      status.seq = message.seq || null;
      return;
    }
    const seq = parseSeq(message.seq);
    if (!seq) return;
    if (lastSeq && !after(seq, lastSeq)) return; // seen already
    applyEvent(message);
    lastSeq = seq;
    status.seq = message.seq;
  }

  // ---- Rendering ----------------------------------------------------------------------------

  function setText(parent, selector, text) {
    const el = parent.querySelector(selector);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function render() {
    for (const tile of document.querySelectorAll(".counter")) {
      const c = counters.get(tile.dataset.counter) || { status: "closed", reason: "", current: null };
      tile.dataset.status = c.status;
      const shown = c.current && shownServices.has(c.current.service) ? c.current.number : "—";
      setText(tile, ".counter-number", shown);
      const shownStatus = c.status === "paused" || c.status === "closed" ? "status." + c.status : null;
      setText(tile, ".counter-status .zh", shownStatus && speakZh ? text("zh", shownStatus) : "");
      setText(tile, ".counter-status .en", shownStatus && speakEn ? text("en", shownStatus) : "");
      // The reason is shown as typed, in whatever language it was written; only a paused counter has one.
      setText(tile, ".counter-reason", c.status === "paused" ? c.reason : "");
    }
    fitReasons();
    for (const row of document.querySelectorAll("#waiting li")) {
      setText(row, ".service-count", String(waiting.get(row.dataset.service) || 0));
    }
    renderRecent();
  }

  function renderRecent() {
    const list = document.getElementById("recent");
    const items = recent.slice(0, RECENT_SHOWN).map((c) => {
      const li = document.createElement("li");
      const number = document.createElement("span");
      number.className = "recent-number";
      number.textContent = c.number;
      const where = document.createElement("span");
      where.className = "recent-counter";
      where.textContent = counterLabel(c.counter);
      li.append(number, where);
      if (c.recall) {
        li.classList.add("recalled");
        const badge = document.createElement("span");
        badge.className = "recall-badge";
        badge.textContent = bilingual("recall");
        li.append(badge);
      }
      return li;
    });
    list.replaceChildren(...items);
  }

  // A catalogue text in the languages this screen shows, zh first.
  function bilingual(key) {
    const parts = [];
    if (speakZh) parts.push(text("zh", key));
    if (speakEn) parts.push(text("en", key));
    return parts.join(" ");
  }

  function counterLabel(id) {
    const info = counterInfo.get(id);
    if (!info) return id;
    if (config.lang === "en") return info.name_en;
    return info.name_zh;
  }

  let noticeText = "";
  function showNotice(notice) {
    const ticker = document.getElementById("ticker");
    const parts = [];
    if (speakZh && notice.text_zh) parts.push(notice.text_zh);
    if (speakEn && notice.text_en) parts.push(notice.text_en);
    const shown = parts.join("　·　");
    ticker.hidden = shown === "";
    const emergency = Boolean(notice.emergency);
    const wasEmergency = ticker.dataset.emergency === "true";
    ticker.dataset.emergency = emergency ? "true" : "false";
    setText(ticker, ".ticker-label .zh", text("zh", emergency ? "emergency" : "notice"));
    setText(ticker, ".ticker-label .en", text("en", emergency ? "emergency" : "notice"));
    if (shown !== noticeText || emergency !== wasEmergency) {
      noticeText = shown;
      const el = document.getElementById("ticker-text");
      el.textContent = shown;
      el.classList.remove("scrolling");
      el.style.animationDuration = "";
      // An emergency notice stands still, wrapped over as many lines as it needs: read at once.
      if (!emergency && el.scrollWidth > el.parentElement.clientWidth) {
        el.classList.add("scrolling");
        el.style.animationDuration = Math.max(12, shown.length * 0.35) + "s";
      }
    }
  }

  function showSpotlight(item, active) {
    const spot = document.getElementById("spotlight");
    spot.dataset.active = active ? "true" : "false";
    setText(spot, "#spotlight-number", item.number);
    const info = counterInfo.get(item.counter);
    // Only the languages this screen shows are filled in: a hidden text is not a text at all.
    const zh = text("zh", "go_to", { counter: info ? info.name_zh : item.counter });
    setText(spot, "#spotlight-zh", speakZh ? zh : "");
    const en = info ? info.name_en : text("en", "counter_number", { counter: item.counter });
    setText(spot, "#spotlight-en", speakEn ? text("en", "go_to", { counter: en }) : "");
  }

  // ---- Highlights and announcements: one moment per call, in order, never cut short ---------

  const moments = [];
  let moment = null;

  function spokenNumber(number, digits) {
    const match = /^([A-Za-z]*)(\d*)$/.exec(number);
    if (!match) return number;
    const letters = match[1].split("").join(" ");
    const spoken = match[2].split("").map((d) => digits(Number(d)));
    return { letters, digits: spoken };
  }

  function announcementTexts(number, counter) {
    const info = counterInfo.get(counter);
    const numeric = /^\d+$/.test(counter);
    const parts = spokenNumber(number, (d) => ZH_DIGITS[d]);
    const zhNumber = typeof parts === "string" ? parts : [parts.letters, parts.digits.join("")].filter(Boolean).join(" ");
    const enParts = spokenNumber(number, (d) => String(d));
    const enNumber = typeof enParts === "string" ? enParts : [enParts.letters, ...enParts.digits].filter(Boolean).join(" ");
    const where = (lang, name) => (numeric ? text(lang, "counter_number", { counter }) : info ? name : counter);
    return {
      zh: text("zh", "announcement", { number: zhNumber, counter: where("zh", info && info.name_zh) }),
      en: text("en", "announcement", { number: enNumber, counter: where("en", info && info.name_en) }),
    };
  }

  function announce(number, counter, at, kind) {
    const texts = announcementTexts(number, counter);
    const item = { zh: texts.zh, en: texts.en, number, counter, at, kind };
    window.nextupAnnouncements.push(item);
    moments.push(item);
    if (!moment) nextMoment();
  }

  // An emergency notice is announced like a call (chime, then spoken), in its turn among the calls.
  function announceNotice(notice) {
    if (!notice.text_zh && !notice.text_en) return;
    const item = {
      zh: text("zh", "emergency_announcement", { text: notice.text_zh || notice.text_en }),
      en: text("en", "emergency_announcement", { text: notice.text_en || notice.text_zh }),
      number: null,
      counter: null,
      at: notice.at || new Date().toISOString(),
      kind: "notice",
    };
    window.nextupAnnouncements.push(item);
    moments.push(item);
    if (!moment) nextMoment();
  }

  function wait(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function nextMoment() {
    moment = moments.shift() || null;
    window.nextupSpeaking = moment;
    if (!moment) {
      const spot = document.getElementById("spotlight");
      spot.dataset.active = "false";
      reloadWhenIdle();
      return;
    }
    const item = moment;
    if (item.kind === "notice") {
      // The banner already shows it: only the chime and the voice, then the next moment.
      document.getElementById("spotlight").dataset.active = "false";
      try {
        await chime();
        if (speakZh) await speak(item.zh, "zh");
        if (speakEn) await speak(item.en, "en");
      } finally {
        nextMoment();
      }
      return;
    }
    const minimum = wait(moments.length ? HIGHLIGHT_BUSY_MS : HIGHLIGHT_MIN_MS);
    window.nextupHighlights.push({ number: item.number, counter: item.counter, at: item.at, kind: item.kind });
    showSpotlight(item, true);
    const tile = document.querySelector('.counter[data-counter="' + CSS.escape(item.counter) + '"]');
    if (tile) tile.classList.add("flash");
    try {
      await chime();
      if (speakZh) await speak(item.zh, "zh");
      if (speakEn) await speak(item.en, "en");
      await minimum;
    } finally {
      if (tile) tile.classList.remove("flash");
      nextMoment();
    }
  }

  // A two-tone chime made with Web Audio: no sound file, nothing to download.
  let audio = null;
  function audioContext() {
    if (audio) return audio;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    try {
      audio = new Context();
    } catch (e) {
      return null;
    }
    return audio;
  }

  function chime() {
    const ctx = audioContext();
    if (ctx) {
      if (ctx.state === "suspended") {
        ctx.resume().catch(() => {});
        document.getElementById("sound").hidden = false;
      }
      const start = ctx.currentTime + 0.02;
      [
        [880, 0],
        [660, 0.4],
      ].forEach(([frequency, offset]) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.5, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.45);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start + offset);
        osc.stop(start + offset + 0.5);
      });
    }
    return wait(CHIME_MS);
  }

  // The browser's own speech synthesis (offline voices). A missing voice, an error, or a
  // synthesiser that never reports the end must not stop the queue, hence the timeouts.
  // The best voice of a language, in the order of VOICE_PREFERENCE. Chinese voices are tagged zh-CN
  // by most engines, but cmn (Mandarin) by espeak-ng, the one Debian's speech-dispatcher brings; its
  // cmn-latn-pinyin voice reads pinyin, not characters, and yue is Cantonese.
  const VOICE_PREFERENCE = {
    zh: [(tag) => tag === "zh-cn", (tag) => tag === "zh" || tag.startsWith("zh-"), (tag) => tag === "cmn"],
    en: [(tag) => tag === "en-gb" || tag === "en-us", (tag) => tag === "en" || tag.startsWith("en-")],
  };

  function voiceFor(lang) {
    const synth = window.speechSynthesis;
    if (!synth) return null;
    const voices = synth.getVoices() || [];
    for (const matches of VOICE_PREFERENCE[lang]) {
      const voice = voices.find((v) => matches(String(v.lang || "").toLowerCase().replace(/_/g, "-")));
      if (voice) return voice;
    }
    return null;
  }

  function speak(text, lang) {
    const synth = window.speechSynthesis;
    const voice = voiceFor(lang);
    if (!synth || !voice || typeof SpeechSynthesisUtterance === "undefined") return Promise.resolve();
    return new Promise((resolve) => {
      let finished = false;
      let watchdog = null;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        resolve();
      };
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      utterance.onend = finish;
      utterance.onerror = finish;
      // No start within 3 s: the synthesiser is not working. Once started, allow generous time.
      watchdog = setTimeout(finish, 3000);
      utterance.onstart = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(finish, 4000 + text.length * 300);
      };
      synth.speak(utterance);
    });
  }

  document.getElementById("sound").addEventListener("click", (event) => {
    const ctx = audioContext();
    if (ctx) ctx.resume().catch(() => {});
    event.currentTarget.hidden = true;
  });

  // ---- Voices: reported to the server, so /admin can flag a screen that would only chime ---------

  let socket = null;

  function voiceReport() {
    const languages = [];
    if (speakZh) languages.push("zh");
    if (speakEn) languages.push("en");
    return { zh: voiceFor("zh") !== null, en: voiceFor("en") !== null, languages };
  }

  function reportVoices() {
    window.nextupVoices = voiceReport();
    if (socket) socket.send({ type: "health", voices: window.nextupVoices });
  }

  // The browser loads its voices after the page starts and says so with voiceschanged.
  if (window.speechSynthesis && window.speechSynthesis.addEventListener) {
    window.speechSynthesis.addEventListener("voiceschanged", reportVoices);
  }
  window.nextupVoices = voiceReport();

  // ---- Connection (live_socket.js): reconnect with jittered backoff, resume from the last seq ---

  function setConnection(state, key) {
    const el = document.getElementById("connection");
    el.dataset.state = state;
    setText(el, "#connection-zh", text("zh", key));
    setText(el, "#connection-en", text("en", key));
    status.connected = state === "online";
  }

  function connect() {
    socket = NextUpSocket.connect({
      url() {
        const url = new URL(config.socket, window.location.href);
        url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
        if (status.seq) url.searchParams.set("since", status.seq);
        return url.toString();
      },
      // The server pings every few seconds: this long without a word means the connection is dead.
      silenceMs: config.silence_s * 1000,
      resetOn: "message",
      onConnecting() {
        status.connects += 1;
        setConnection("connecting", "connection.connecting");
      },
      onOpen() {
        setConnection("online", "connection.online");
        reportVoices();
      },
      onMessage: handle,
      onClose(end) {
        if (end.code === CLOSE.UNAUTHORIZED) {
          // The credential no longer works (account disabled, logged out, expired): the reloaded
          // page shows a pairing code instead.
          setConnection("offline", "connection.unauthorised");
          setTimeout(() => window.location.reload(), REFUSED_RETRY_MS);
          return false;
        }
        if (end.code === CLOSE.FORBIDDEN || end.code === CLOSE.NOT_FOUND) {
          setConnection("offline", "connection.unauthorised");
          return REFUSED_RETRY_MS;
        }
        setConnection("offline", "connection.reconnecting");
        return undefined;
      },
    });
  }

  // ---- Clock ---------------------------------------------------------------------------------

  function startClock() {
    const zone = config.branch.timezone;
    let time;
    let dateZh;
    let dateEn;
    try {
      time = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
      dateZh = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, month: "long", day: "numeric", weekday: "long" });
      dateEn = new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "short", day: "numeric", month: "short" });
    } catch (e) {
      time = new Intl.DateTimeFormat("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
      dateZh = new Intl.DateTimeFormat("zh-CN", { month: "long", day: "numeric", weekday: "long" });
      dateEn = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short" });
    }
    const tick = () => {
      const now = new Date();
      setText(document, "#clock-time", time.format(now));
      const dates = [];
      if (speakZh) dates.push(dateZh.format(now));
      if (speakEn) dates.push(dateEn.format(now));
      setText(document, "#clock-date", dates.join("  "));
    };
    tick();
    setInterval(tick, 1000);
  }

  // ---- Board layout: the column count and type size that make every counter's number largest ---

  function fitBoard() {
    const list = document.getElementById("counters");
    const tiles = list.children.length;
    if (!tiles) return;
    const gap = parseFloat(getComputedStyle(list).rowGap) || 0;
    const width = list.clientWidth;
    const height = list.clientHeight;
    // The smallest text the page uses (--min-text in display.css), as the status line has it.
    const statusLine = list.querySelector(".counter-status");
    const minText = statusLine ? parseFloat(getComputedStyle(statusLine).fontSize) || 0 : 0;
    // The widest name at its own size, both languages on one line (each span does not wrap).
    let nameWidth = 0;
    for (const name of list.querySelectorAll(".counter-name")) {
      let w = 0;
      for (const span of name.children) w += span.getBoundingClientRect().width + 0.5 * minText;
      nameWidth = Math.max(nameWidth, w);
    }
    let best = { size: 0, columns: 1 };
    for (let columns = 1; columns <= tiles; columns += 1) {
      const rows = Math.ceil(tiles / columns);
      const tileWidth = (width - gap * (columns - 1)) / columns;
      const tileHeight = (height - gap * (rows - 1)) / rows;
      // A number such as A001 is about 2.7 em wide. The name (one line, or two where the English
      // goes under the Chinese) and up to three status lines (暂停, Paused, the reason) keep their
      // legible size, 1.2 lines each.
      const nameLines = nameWidth > tileWidth - 0.1 * width / columns ? 2 : 1;
      const reserved = (nameLines + 3) * 1.2 * minText + 2 * gap;
      const size = Math.min(tileWidth / 2.9, (tileHeight - reserved) / 1.1);
      if (size > best.size) best = { size, columns };
    }
    list.style.setProperty("--columns", String(best.columns));
    list.style.setProperty("--number-size", Math.floor(best.size) + "px");
    // Names stay at the smallest legible size: the number is what is read from afar.
    list.style.setProperty("--name-size", minText + "px");
    fitReasons();
  }

  // A pause reason is staff's own text, of any length: it may use every line its tile has left
  // under the name, the number and the status words, and is cut with an ellipsis only beyond them
  // (--reason-lines, display.css). Measured after each render and each re-fit of the board.
  function fitReasons() {
    for (const tile of document.querySelectorAll("#counters .counter")) {
      const reason = tile.querySelector(".counter-reason");
      if (!reason || !reason.textContent) continue;
      const style = getComputedStyle(tile);
      const inner = tile.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
      const status = tile.querySelector(".counter-status");
      const words = reason.getBoundingClientRect().top - status.getBoundingClientRect().top;
      const used = tile.querySelector(".counter-name").offsetHeight + tile.querySelector(".counter-number").offsetHeight;
      const own = getComputedStyle(reason);
      const room = inner - used - words - parseFloat(own.paddingTop) - parseFloat(own.paddingBottom);
      tile.style.setProperty("--reason-lines", String(Math.max(1, Math.floor(room / (parseFloat(own.lineHeight) || 1)))));
    }
  }

  if (window.ResizeObserver) new ResizeObserver(fitBoard).observe(document.getElementById("counters"));
  window.addEventListener("resize", fitBoard);

  startClock();
  fitBoard();
  render();
  connect();
})();
