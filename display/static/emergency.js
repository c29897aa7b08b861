// The branch's emergency state (应急预案) on the lobby display: a full-screen overlay above everything,
// the kind's title and words and the manager's own words in the screen's languages, announced when it
// starts and again every few minutes while it lasts, and a short "resumed" announcement when it ends.
// display.js owns the page's state and its announcement queue; it hands both in through `options`.
// The manager's words go into the page with textContent only.
//
//   const emergency = NextUpDisplayEmergency({texts, text, showZh, showEn, repeatMs, announce});
//   emergency.follow(state.emergency || null)   // from a snapshot, an emergency_started or _ended event
//   emergency.active                            // true while an emergency state is shown
(function () {
  "use strict";

  // The overlay's text is shrunk together until it all fits; it never goes below the page's
  // smallest text (--min-text, 40 px at 1080p), which the managers' 300-character limit allows.
  const SCALE_STEP = 0.05;

  window.NextUpDisplayEmergency = function create(options) {
    const overlay = document.getElementById("emergency");
    let current = null; // {kind, text_zh, text_en, since} shown now, or null
    let repeat = null;

    // The kind's words in one language (the catalogue's "emergency." section), then the manager's own.
    function words(lang, emergency) {
      const kind = (key) => (options.texts[key + "." + emergency.kind] || {})[lang] || "";
      return { title: kind("title"), says: kind("says"), own: own(lang, emergency) };
    }

    // The manager's words in this language; on a one-language screen, those of the other language
    // when none were written in its own: the manager's words matter more than the language they are in.
    function own(lang, emergency) {
      const mine = (lang === "zh" ? emergency.text_zh : emergency.text_en) || "";
      if (mine || (options.showZh && options.showEn)) return mine;
      return (lang === "zh" ? emergency.text_en : emergency.text_zh) || "";
    }

    function same(a, b) {
      return Boolean(a && b) && ["kind", "text_zh", "text_en", "since"].every((k) => a[k] === b[k]);
    }

    function render() {
      for (const lang of ["zh", "en"]) {
        const shown = lang === "zh" ? options.showZh : options.showEn;
        const block = overlay.querySelector(".emergency-block." + lang);
        const said = current && shown ? words(lang, current) : { title: "", says: "", own: "" };
        block.hidden = !said.title;
        block.querySelector(".emergency-title").textContent = said.title;
        block.querySelector(".emergency-says").textContent = said.says;
        block.querySelector(".emergency-own").textContent = said.own;
        block.querySelector(".emergency-own").hidden = !said.own;
      }
      overlay.hidden = !current;
      document.body.dataset.emergency = current ? current.kind : "";
      fit();
    }

    // The largest text at which everything is on screen, whole.
    function fit() {
      if (overlay.hidden) return;
      const overflowing = () => overlay.scrollHeight > overlay.clientHeight + 1
        || overlay.scrollWidth > overlay.clientWidth + 1;
      let scale = 1;
      overlay.style.setProperty("--emergency-scale", String(scale));
      while (scale > SCALE_STEP && overflowing()) {
        scale -= SCALE_STEP;
        overlay.style.setProperty("--emergency-scale", scale.toFixed(2));
      }
    }

    function announcement(emergency) {
      const spoken = (lang) => {
        const said = words(lang, emergency);
        return options.text(lang, "emergency_state.announcement", said).trim();
      };
      return { zh: spoken("zh"), en: spoken("en"), kind: "emergency" };
    }

    function announceNow() {
      if (current) options.announce(announcement(current));
    }

    // Returns what changed: "started" (a new or replaced state), "ended", or null.
    function follow(next) {
      if (next && same(next, current)) return null; // a reconnect's snapshot of the state shown
      clearInterval(repeat);
      repeat = null;
      if (!next) {
        if (!current) return null;
        current = null;
        render();
        options.announce({
          zh: options.text("zh", "emergency_state.resumed"),
          en: options.text("en", "emergency_state.resumed"),
          kind: "resumed",
        });
        return "ended";
      }
      current = next;
      render();
      announceNow();
      repeat = setInterval(announceNow, options.repeatMs);
      return "started";
    }

    if (window.ResizeObserver) new ResizeObserver(fit).observe(overlay);
    window.addEventListener("resize", fit);

    return {
      follow,
      get active() { return current !== null; },
    };
  };
})();
