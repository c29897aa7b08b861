// The customer's ticket page /t/{id}: follows the ticket live, alerts when it is called, lets the
// holder leave the queue, rate the service and complain. Plain JavaScript, no dependencies, nothing
// loaded from the internet; text from the server goes into the page with textContent only.
//
// Live updates come over the websocket /ws/tickets/{id}. When it cannot open although the server
// answers plain HTTP (a proxy that blocks websockets), the page switches to long polling of
// .../updates (see server/phone.py). Either way it reconnects with jittered, doubling backoff, at
// once when the phone wakes up or comes back online.
//
// For tests and diagnostics the page exposes window.nextupPhone:
//   {transport: "ws"|"poll", connected, connects, messages, version, status,
//    alerts: [{counter, calls, at}], vibrations, beeps, ended: null|404|410}
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("phone-config").textContent);

  // The server pings every 5 s: this long without any message means the connection is dead.
  const SILENCE_MS = 15000;
  // Websocket opens that failed while plain HTTP worked, before switching to long polling.
  const WS_STRIKES = 2;
  const RATE_LIMITED_RETRY_MS = 60000;
  const CLOSE = NextUpSocket.CLOSE;

  const query = new URLSearchParams(location.search);
  const phone = {
    transport: query.get("transport") === "poll" ? "poll" : "ws",
    connected: false,
    connects: 0,
    messages: 0,
    version: null,
    status: null,
    alerts: [],
    vibrations: 0,
    beeps: 0,
    ended: null,
  };
  window.nextupPhone = phone;

  let lang = config.lang;
  let message = config.first; // the last ticket message applied
  let lastAlert = callKey(message.ticket); // the call already alerted: "counter:calls"
  let stopped = false; // the ticket is unknown or its page expired: nothing more to follow
  const retry = NextUpSocket.backoff(500, 8000);
  let wsStrikes = 0;
  let wakeUp = null; // ends the current backoff wait early
  let chosenStars = 0;
  let audio = null;
  let notice = null; // {key, values} of the notice shown, re-rendered on a language switch

  const $ = (id) => document.getElementById(id);

  function text(key, values) {
    const template = (config.texts[key] || {})[lang] || key;
    return template.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? String(values[name]) : ""));
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function callKey(ticket) {
    return ticket && ticket.status === "called" ? ticket.counter + ":" + ticket.calls : null;
  }

  function counterName(id) {
    const counter = config.counters[id];
    if (!counter) return id;
    return lang === "zh" ? counter.name_zh : counter.name_en;
  }

  function localTime(iso) {
    // The server writes times in the branch's zone: show its clock time as written.
    const match = /T(\d\d:\d\d)/.exec(iso || "");
    return match ? match[1] : "";
  }

  // "3月2日 10:05" / "2 Mar, 10:05": the date and clock time as the server wrote them (branch's zone).
  function localDateTime(iso) {
    const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(iso || "");
    if (!match) return "";
    const [y, mo, d, h, mi] = match.slice(1).map(Number);
    return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", { month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" }).format(Date.UTC(y, mo - 1, d, h, mi));
  }

  // The holder's complaints, with their state and the managers' answers (server/follow_up.py).
  function renderComplaints(filed) {
    show("follow-up", filed.length > 0);
    $("follow-up-list").replaceChildren(...filed.map((complaint) => {
      const item = document.createElement("li");
      item.dataset.state = complaint.state;
      const line = (className, content) => {
        const p = document.createElement("p");
        p.className = className;
        p.textContent = content;
        item.append(p);
        return p;
      };
      line("filed", text("follow_up.filed", { time: localDateTime(complaint.filed_at) }) + " · "
        + text("follow_up.state." + complaint.state));
      line("text", complaint.text);
      if (complaint.state === "open") line("due", text("follow_up.due", { time: localDateTime(complaint.answer_due_at) }));
      if (complaint.answer) {
        line("answer-head", text("follow_up.answer", { time: localDateTime(complaint.answered_at) }));
        line("answer", complaint.answer);
      }
      return item;
    }));
  }

  // ---- Rendering ---------------------------------------------------------------------------

  function renderStatic() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    const values = { days: config.phone_days, hours: config.answer_target_h };
    for (const element of document.querySelectorAll("[data-text]")) {
      element.textContent = text(element.dataset.text, values);
    }
    for (const star of document.querySelectorAll(".star")) {
      star.setAttribute("aria-label", text("rate.star", { n: star.dataset.value }));
    }
    $("branch-name").textContent = lang === "zh" ? config.branch.name_zh : config.branch.name_en;
    const toggle = $("lang-toggle");
    toggle.textContent = text("language.other");
    toggle.setAttribute("href", "?lang=" + (lang === "zh" ? "en" : "zh"));
  }

  function render() {
    const ticket = message.ticket;
    const feedback = message.feedback || { rating: null, complaints_left: 0 };
    document.body.dataset.status = ticket.status;
    phone.status = ticket.status;
    phone.version = message.version;
    $("number").textContent = ticket.number;
    const service = config.services[ticket.service] || { name_zh: ticket.service, name_en: ticket.service };
    const names = $("service");
    names.replaceChildren();
    const zh = document.createElement("span");
    zh.lang = "zh-CN";
    zh.textContent = service.name_zh;
    const en = document.createElement("span");
    en.lang = "en";
    en.textContent = service.name_en;
    names.append(zh, " · ", en);
    show("priority", ticket.priority);
    $("status").textContent = text("status." + ticket.status);

    const waiting = ticket.status === "waiting";
    show("waiting", waiting && !stopped);
    if (waiting) {
      const ahead = ticket.ahead || 0;
      $("ahead").textContent = ahead === 0 ? text("ahead.none") : ahead === 1 ? text("ahead.one") : text("ahead", { n: ahead });
      const seconds = ticket.estimated_wait_s;
      // Waiting without a wait: no open counter serves the service, so no minutes are promised.
      const noCounter = seconds === null || seconds === undefined;
      $("wait").dataset.noCounter = String(noCounter);
      $("wait").textContent = noCounter ? text("wait.no_counter")
        : ahead === 0 || seconds < 60 ? text("wait.soon") : text("wait", { minutes: Math.round(seconds / 60) });
    }

    const called = ticket.status === "called";
    show("called", called);
    if (called) {
      $("go").textContent = text("called", { counter: counterName(ticket.counter) });
      $("calls").textContent = ticket.calls > 1 ? text("called.again", { calls: ticket.calls }) : "";
    }

    const finished = ["served", "no_show", "cancelled"].includes(ticket.status);
    show("finished", finished);
    if (finished) $("finished-text").textContent = text(ticket.status);

    const accepting = feedback.accepting !== false && !stopped;
    show("rating", ticket.status === "served" && feedback.rating === null && accepting);
    show("rated", feedback.rating !== null && feedback.rating !== undefined);
    if (feedback.rating) $("rated").textContent = text("rate.done", { n: feedback.rating });
    show("complaint", feedback.complaints_left > 0 && accepting);
    const filed = feedback.filed || [];
    renderComplaints(filed);

    // A finished page with a complaint waiting for its answer does not expire (expires_at null);
    // with complaints answered it is kept for days: the date then, not only the time.
    const awaiting = finished && !message.expires_at && filed.some((c) => c.state === "open");
    show("expires", (Boolean(message.expires_at) || awaiting) && !stopped);
    if (message.expires_at) {
      const time = filed.length > 0 ? localDateTime(message.expires_at) : localTime(message.expires_at);
      $("expires").textContent = text("expires", { time: time });
    } else if (awaiting) {
      $("expires").textContent = text("follow_up.kept");
    }

    show("notice", notice !== null);
    if (notice) $("notice").textContent = text(notice.key, notice.values);

    document.title = called ? text("called", { counter: counterName(ticket.counter) }) + " · " + ticket.number
      : ticket.number + " · " + text("title");
  }

  function say(key, values) {
    notice = key ? { key: key, values: values || {} } : null;
    render();
  }

  function apply(next) {
    if (!next || next.type !== "ticket") return;
    phone.messages += 1;
    message = next;
    const key = callKey(next.ticket);
    if (key && key !== lastAlert) announceCall(next.ticket);
    lastAlert = key;
    render();
  }

  function end(status) {
    stopped = true;
    phone.ended = status;
    setConnection("ended");
    say(status === 410 ? "error.gone" : "error.not_found");
  }

  // ---- Being called: vibration and a beep ------------------------------------------------------

  function announceCall(ticket) {
    phone.alerts.push({ counter: ticket.counter, calls: ticket.calls, at: Date.now() });
    if (typeof navigator.vibrate === "function") {
      try {
        navigator.vibrate([400, 150, 400, 150, 400]);
        phone.vibrations += 1;
      } catch (error) {
        // Vibration refused (no user gesture yet): the banner and the beep remain.
      }
    }
    beep();
  }

  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!audio) audio = new Context();
    // Phones start audio suspended until the user touches the page; resume on every touch.
    if (audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }

  function beep() {
    const context = unlockAudio();
    if (!context) return;
    const start = context.currentTime + 0.05;
    for (const offset of [0, 0.35, 0.7]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.5, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.25);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.3);
    }
    phone.beeps += 1;
  }

  // ---- Staying connected -----------------------------------------------------------------------

  function setConnection(state) {
    phone.connected = state === "live";
    document.body.dataset.connection = state;
    const key = state === "live" ? (phone.transport === "poll" ? "connection.polling" : "connection.live")
      : state === "offline" ? "connection.offline" : state === "ended" ? null : "connection.connecting";
    $("connection").textContent = key ? text(key) : "";
  }

  function sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });
  }

  function connected() {
    if (!phone.connected) phone.connects += 1;
    retry.reset();
    setConnection("live");
  }

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.socket;
  }

  // One websocket session (live_socket.js); resolves when it ends with whether it opened and its close code.
  function runSocket() {
    return NextUpSocket.session(socketUrl(), {
      silenceMs: SILENCE_MS,
      onOpen() { wsStrikes = 0; },
      onMessage(data) {
        if (data.type !== "ticket") return;
        connected();
        apply(data);
      },
    }).done;
  }

  // One request for the ticket: at once (wait 0), or held until it changes (long polling).
  // True when the server answered (even with a refusal), false when it could not be reached.
  async function poll(wait) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), (wait + 10) * 1000);
    const since = wait > 0 ? message.version : "";
    try {
      const response = await fetch(config.updates + "?since=" + encodeURIComponent(since) + "&wait=" + wait,
        { cache: "no-store", signal: controller.signal });
      if (response.status === 404 || response.status === 410) {
        end(response.status);
        return true;
      }
      if (response.status === 429) {
        setConnection("offline");
        await sleep(RATE_LIMITED_RETRY_MS);
        return true;
      }
      if (!response.ok) return false;
      const data = await response.json();
      if (phone.transport === "poll") connected();
      apply(data);
      return true;
    } catch (error) {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async function follow() {
    while (!stopped) {
      if (phone.transport === "ws") {
        const outcome = await runSocket();
        if (outcome.code === CLOSE.NOT_FOUND || outcome.code === CLOSE.GONE) {
          end(outcome.code === CLOSE.GONE ? 410 : 404);
          return;
        }
        setConnection("offline");
        if (outcome.code === CLOSE.RATE_LIMITED) {
          await sleep(RATE_LIMITED_RETRY_MS);
          continue;
        }
        if (!outcome.opened) {
          // Does the server answer plain HTTP? Then something in between blocks websockets.
          const reachable = await poll(0);
          if (stopped) return;
          if (reachable && ++wsStrikes >= WS_STRIKES) {
            phone.transport = "poll";
            continue;
          }
        }
      } else {
        // Not yet live: ask for the ticket at once, then hold each request until it changes.
        if (await poll(phone.connected ? config.long_poll_s : 0)) continue;
        setConnection("offline");
      }
      if (!stopped) await sleep(retry.next());
    }
  }

  function wake() {
    retry.reset();
    if (wakeUp) wakeUp();
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !phone.connected) wake();
  });
  window.addEventListener("online", wake);

  // ---- Leaving, rating, complaining --------------------------------------------------------------

  async function send(url, body) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body || {}),
        cache: "no-store",
      });
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
      return { status: response.status, data: data };
    } catch (error) {
      return { status: 0, data: null };
    }
  }

  async function refused(result) {
    if (result.status === 0) say("error.network");
    else if (result.status === 404) end(result.status);
    else if (result.status === 410) {
      // Rating and complaining ended; the page may still be readable for its complaints' answers.
      if (!await poll(0)) say("error.network");
      else if (!stopped) say("error.feedback_closed");
    } else say("error.failed");
  }

  const dialog = $("leave-dialog");
  $("leave-button").addEventListener("click", () => {
    $("leave-text").textContent = text("leave.text", { number: message.ticket.number });
    if (typeof dialog.showModal === "function") dialog.showModal();
    else if (window.confirm(text("leave.title") + "\n" + $("leave-text").textContent)) leave();
  });
  $("leave-no").addEventListener("click", () => dialog.close());
  $("leave-yes").addEventListener("click", () => {
    dialog.close();
    leave();
  });

  async function leave() {
    const result = await send(config.cancel);
    if (result.status === 200 && result.data) {
      say(null);
      apply({ ...message, type: "ticket", version: "local", ticket: result.data });
    } else if (result.status === 409) {
      say("error.failed");
    } else {
      refused(result);
    }
  }

  for (const star of document.querySelectorAll(".star")) {
    star.addEventListener("click", () => {
      chosenStars = Number(star.dataset.value);
      for (const other of document.querySelectorAll(".star")) {
        const on = Number(other.dataset.value) <= chosenStars;
        other.classList.toggle("on", on);
        other.setAttribute("aria-checked", String(Number(other.dataset.value) === chosenStars));
      }
    });
  }

  $("rating-submit").addEventListener("click", async () => {
    if (!chosenStars) {
      say("rate.choose");
      return;
    }
    const button = $("rating-submit");
    button.disabled = true;
    const result = await send(config.rating, { rating: chosenStars, comment: $("rating-comment").value });
    button.disabled = false;
    const error = result.data && result.data.error;
    if (result.status === 201) {
      message.feedback = { ...message.feedback, rating: result.data.rating };
      say(null);
    } else if (result.status === 409 && error && error.code === "already_rated") {
      message.feedback = { ...message.feedback, rating: error.rating || null };
      say("rate.already");
    } else {
      refused(result);
    }
  });

  $("complaint-open").addEventListener("click", () => {
    show("complaint-form", true);
    show("complaint-open", false);
    $("complaint-text").focus();
  });
  $("complaint-cancel").addEventListener("click", () => {
    show("complaint-form", false);
    show("complaint-open", true);
  });
  $("complaint-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { text: $("complaint-text").value.trim() };
    if (!body.text) {
      say("complaint.empty");
      return;
    }
    const phoneNumber = $("complaint-phone").value.trim();
    if (phoneNumber) body.phone = phoneNumber;
    const button = $("complaint-submit");
    button.disabled = true;
    const result = await send(config.complaints, body);
    button.disabled = false;
    const error = result.data && result.data.error;
    if (result.status === 201) {
      const left = Math.max(0, (message.feedback.complaints_left || 1) - 1);
      message.feedback = { ...message.feedback, complaints_left: left };
      $("complaint-text").value = "";
      $("complaint-phone").value = "";
      show("complaint-form", false);
      show("complaint-open", true);
      say("complaint.done", { hours: config.answer_target_h });
      poll(0); // the complaint joins the page's list of complaints at once
    } else if (result.status === 409 && error && error.code === "too_many_complaints") {
      message.feedback = { ...message.feedback, complaints_left: 0 };
      say("complaint.limit");
    } else if (result.status === 422) {
      say("error.failed");
    } else {
      refused(result);
    }
  });

  $("sound-button").addEventListener("click", () => {
    beep();
    $("sound-button").dataset.text = "sound.on";
    renderStatic();
  });
  // Any touch unlocks the audio, so the beep can sound when the call comes.
  document.addEventListener("pointerdown", unlockAudio, { once: true });

  $("lang-toggle").addEventListener("click", (event) => {
    event.preventDefault();
    lang = lang === "zh" ? "en" : "zh";
    document.cookie = "nextup_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
    renderStatic();
    render();
    setConnection(stopped ? "ended" : document.body.dataset.connection);
  });

  renderStatic();
  render();
  setConnection("connecting");
  follow();
})();
