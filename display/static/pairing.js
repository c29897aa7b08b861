// Pairing screen of a display with no credential: ask the server for a code, show it, poll the
// claim every 2 s (the secret goes in the POST body, never in a URL) and reload once paired: the
// claim's answer set the HttpOnly device cookie, and the reloaded page is the live display.
//
// For tests the page exposes window.nextupPairing = {code, state} (state: asking, waiting, paired, error);
// for the display PC's watchdog, window.nextupHeartbeat: when the server last answered (ms).
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("nextup-pairing").textContent);
  const POLL_MS = 2000;
  const RETRY_MS = 10000;
  const status = { code: null, state: "asking" };
  window.nextupPairing = status;

  // The state's words from the catalogue (config.texts: state -> {zh, en}).
  function show(state) {
    status.state = state;
    document.getElementById("pairing").dataset.state = state;
    document.getElementById("pairing-status-zh").textContent = config.texts[state].zh;
    document.getElementById("pairing-status-en").textContent = config.texts[state].en;
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    window.nextupHeartbeat = Date.now();
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { status: response.status, data };
  }

  async function ask() {
    show("asking");
    let answer;
    try {
      answer = await post("/api/pairing", { kind: config.kind, branch: config.branch });
    } catch (e) {
      answer = { status: 0, data: null };
    }
    if (answer.status !== 201 || !answer.data) {
      show("error");
      setTimeout(ask, RETRY_MS);
      return;
    }
    status.code = answer.data.code;
    document.getElementById("pairing-code").textContent = answer.data.code;
    show("waiting");
    const expires = Date.now() + answer.data.expires_in * 1000;
    poll(answer.data.claim, expires);
  }

  async function poll(claim, expires) {
    if (Date.now() >= expires) {
      ask();
      return;
    }
    let answer;
    try {
      answer = await post("/api/pairing/claim", { claim: claim });
    } catch (e) {
      answer = { status: 0, data: null };
    }
    if (answer.status === 200) {
      show("paired");
      window.location.reload();
    } else if (answer.status === 404) {
      ask(); // expired: a new code
    } else {
      setTimeout(() => poll(claim, expires), POLL_MS);
    }
  }

  ask();
})();
