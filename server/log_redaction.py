"""Keep login tokens out of every log line.

Clients may still put a token in a URL (``/display/main?token=...``, ``/ws/...?token=...``: the
documented public contract for clients that cannot set headers), and uvicorn logs request lines and
websocket handshakes with their query. ``RedactSecrets`` is a ``logging.Filter`` installed on every
handler (``nextup serve`` and ``nextup kiosk``): it rewrites ``token=<value>`` query values and
anything shaped like a NextUp token (``nxt1.<payload>.<signature>``) to ``[redacted]`` before a
record is formatted.

It redacts the message and each of its arguments separately, rather than formatting the message
first, because uvicorn's access formatter reads the arguments of its records itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

#: ``token=...`` in a query string (or anywhere a ``key=value`` pair is logged); the value ends at
#: the next separator. Also ``access_token=``/``claim=`` for clients that use those names.
_QUERY_SECRET = re.compile(r"(?i)\b((?:access_)?token|claim)=[^&\s\"'<>;,]+")
#: A NextUp token wherever it appears (``server.auth.TOKEN_PREFIX`` ``nxt1``; base64url parts).
_TOKEN = re.compile(r"nxt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """``text`` with every token value replaced by ``[redacted]``."""
    if "=" not in text and "nxt1." not in text:
        return text  # the common case: nothing to look at
    text = _TOKEN.sub(REDACTED, text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)
    cleaned = redact(text)
    # Objects (exceptions, URLs) are replaced by their text only when that text held a secret.
    return value if cleaned == text else cleaned


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments so that no token reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_arg(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(value) for value in record.args)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Formatted here, once, so the traceback text can be cleaned too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def protect_handlers() -> None:
    """Add the filter to every handler now attached to the root logger or any named logger."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on each of its handlers.

    ``uvicorn.run`` applies its configuration after our start-up code and replaces the handlers of
    its loggers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``), so the filter goes in there.
    """
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
