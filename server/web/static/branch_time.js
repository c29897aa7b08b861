// Times as the branch reads them: in the branch's time zone (from its configuration, in the page's
// config), whatever the zone of the computer showing the page, in the page's language.
// Loaded after common.js; window.NextUpTime = {time, day, dayKey, when}.
(function () {
  "use strict";

  const N = window.NextUp;
  const locale = N.config.lang === "zh" ? "zh-CN" : "en-GB";

  function formatter(options) {
    try {
      return new Intl.DateTimeFormat(locale, { timeZone: N.config.branch.timezone, ...options });
    } catch (_) {
      return new Intl.DateTimeFormat(locale, options); // a zone this browser does not know: its own
    }
  }

  const clock = formatter({ hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const longDay = formatter({ year: "numeric", month: "long", day: "numeric", weekday: "long" });
  const shortDay = formatter({ month: "short", day: "numeric" });
  const isoDay = new Intl.DateTimeFormat("en-CA", { timeZone: clock.resolvedOptions().timeZone,
    year: "numeric", month: "2-digit", day: "2-digit" });

  function parse(iso) {
    if (!iso) return null;
    const moment = new Date(iso);
    return isNaN(moment.getTime()) ? null : moment;
  }

  // Each takes an ISO 8601 time with its offset (as the API writes them) and gives "" for none.
  const time = (iso) => (parse(iso) ? clock.format(parse(iso)) : "");
  const day = (iso) => (parse(iso) ? longDay.format(parse(iso)) : "");
  // The branch's calendar day, "2026-03-02": the same for two times of one day there.
  const dayKey = (iso) => (parse(iso) ? isoDay.format(parse(iso)) : "");
  // The time, with the day in front when it is not today.
  function when(iso) {
    const moment = parse(iso);
    if (!moment) return "";
    const today = isoDay.format(new Date()) === isoDay.format(moment);
    return today ? clock.format(moment) : shortDay.format(moment) + " " + clock.format(moment);
  }

  window.NextUpTime = { time, day, dayKey, when };
})();
