// The one live socket of every page (staff pages, phone, lobby display, kiosk): open a websocket,
// answer the server's pings, give up on a connection that went silent, reconnect with jittered,
// doubling backoff, and let the page decide what a close code means. Plain JavaScript, no
// dependencies; served as /static/live_socket.js by the server and by `nextup kiosk` (the same file).
//
//   NextUpSocket.connect({url, onMessage, ...})  a socket that reconnects until stopped (most pages)
//   NextUpSocket.session(url, {...})             one socket, until it closes (the phone's own loop)
//   NextUpSocket.backoff(baseMs, maxMs)          the delays between attempts
//   NextUpSocket.CLOSE                           the close codes pages react to, by name
//   window.nextupHeartbeat                       for a device PC's watchdog (docs/devices.md): now
//                                                (ms) while a socket is open, else when one last was
(function () {
  "use strict";

  // The page is live while one of its sockets is open; the watchdog of a kiosk or display PC reads
  // this and reloads a page that has been without a connection for too long (kiosk/watchdog.py).
  let openSockets = 0;
  let lastLive;
  Object.defineProperty(window, "nextupHeartbeat", {
    configurable: true,
    get() {
      return openSockets > 0 ? Date.now() : lastLive;
    },
  });

  // Close codes, named as in docs/websockets.md; a page compares with these, never with numbers.
  const CLOSE = Object.freeze({
    NORMAL: 1000,
    // Server overload or a client that reads too slowly: reconnect later (with backoff).
    TRY_AGAIN_LATER: 1013,
    UNAUTHORIZED: 4401,
    FORBIDDEN: 4403,
    NOT_FOUND: 4404,
    HEARTBEAT_TIMEOUT: 4408,
    GONE: 4410,
    RATE_LIMITED: 4429,
  });
  // Not a close code: the connection could not open, or went silent and was given up on.
  const NO_CODE = 0;

  // Delays before each new attempt: doubling from baseMs up to maxMs, each drawn at random from the
  // upper half of its range so that screens dropped together do not all come back at once.
  function backoff(baseMs, maxMs) {
    const base = baseMs || 500;
    const max = maxMs || 8000;
    let attempt = 0;
    return {
      next() {
        const ceiling = Math.min(max, base * 2 ** attempt);
        attempt = Math.min(attempt + 1, 30);
        return ceiling / 2 + Math.random() * (ceiling / 2);
      },
      reset() {
        attempt = 0;
      },
    };
  }

  // One websocket, from opening to its end. Pings are answered and pongs dropped; every other
  // message (parsed JSON) goes to onMessage. With silenceMs, a connection that says nothing for
  // that long (the server pings every few seconds) is closed and ends with NO_CODE.
  // Returns {done: Promise<{opened, code, reason}>, send(message), close(code, reason)}.
  function session(url, options) {
    const handlers = options || {};
    let ws = null;
    let opened = false;
    let counted = false;
    let silence = null;
    let finish;
    const done = new Promise((resolve) => { finish = resolve; });

    function end(code, reason) {
      clearTimeout(silence);
      if (counted) {
        counted = false;
        openSockets -= 1;
        lastLive = Date.now();
      }
      if (ws) ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      finish({ opened: opened, code: code, reason: reason || "" });
    }

    function watch() {
      if (!handlers.silenceMs) return;
      clearTimeout(silence);
      silence = setTimeout(() => {
        // A dead connection may never deliver its close: give up on it now.
        try { ws.close(); } catch (error) { /* already closing */ }
        end(NO_CODE);
      }, handlers.silenceMs);
    }

    try {
      ws = new WebSocket(url);
    } catch (error) {
      setTimeout(() => end(NO_CODE), 0);
      return { done: done, send() { return false; }, close() {} };
    }
    watch();
    ws.onopen = () => {
      opened = true;
      counted = true;
      openSockets += 1;
      watch();
      if (handlers.onOpen) handlers.onOpen();
    };
    ws.onmessage = (event) => {
      watch();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (!message || typeof message.type !== "string") return;
      if (message.type === "ping") {
        ws.send('{"type":"pong"}');
        return;
      }
      if (message.type === "pong") return;
      if (handlers.onMessage) handlers.onMessage(message);
    };
    ws.onclose = (event) => end(event.code, event.reason);

    return {
      done: done,
      send(message) {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(message));
        return true;
      },
      close(code, reason) {
        try { ws.close(code, reason); } catch (error) { /* already closing */ }
      },
    };
  }

  // A socket that reconnects until stopped. Options:
  //   url()            the address of each attempt (it may carry a position to resume from)
  //   onConnecting()   before each attempt; onOpen() when it opened; onMessage(message)
  //   onClose(end)     after each end ({opened, code, reason}, unless stopped): return false to stop,
  //                    a number of ms to retry after, or nothing for the backoff's next delay
  //   silenceMs, baseMs, maxMs; resetOn: "open" (default) or "message", what restarts the backoff
  // Returns {send(message) -> bool, stop(), get open()}.
  function connect(options) {
    const retry = backoff(options.baseMs, options.maxMs);
    const resetOnMessage = options.resetOn === "message";
    let current = null;
    let isOpen = false;
    let stopped = false;
    let timer = null;

    function attempt() {
      timer = null;
      if (stopped) return;
      if (options.onConnecting) options.onConnecting();
      const mine = session(options.url(), {
        silenceMs: options.silenceMs,
        onOpen() {
          isOpen = true;
          if (!resetOnMessage) retry.reset();
          if (options.onOpen) options.onOpen();
        },
        onMessage(message) {
          if (resetOnMessage) retry.reset();
          options.onMessage(message);
        },
      });
      current = mine;
      mine.done.then((end) => {
        if (mine !== current) return;
        current = null;
        isOpen = false;
        if (stopped) return;
        const decision = options.onClose ? options.onClose(end) : undefined;
        if (decision === false || stopped) return;
        timer = setTimeout(attempt, typeof decision === "number" ? decision : retry.next());
      });
    }

    attempt();
    return {
      send(message) {
        return current !== null && current.send(message);
      },
      stop() {
        stopped = true;
        clearTimeout(timer);
        if (current) current.close(CLOSE.NORMAL, "left");
        current = null;
        isOpen = false;
      },
      get open() {
        return isOpen;
      },
    };
  }

  window.NextUpSocket = Object.freeze({ CLOSE: CLOSE, NO_CODE: NO_CODE, backoff: backoff, session: session,
    connect: connect });
})();
