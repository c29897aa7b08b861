"""NextUp server: the queue engine on Redis and its HTTP API.

Exceptions: one root, ``server.errors.NextUpError``, for the server, ``nextup simulate`` and the kiosk::

    NextUpError
     ├── ConfigError            the branch configuration file is invalid
     ├── EmbeddedRedisError     the embedded redis-server could not start
     ├── ApiError               an HTTP request is refused (carries status and code)
     ├── GateFull               too many password checks waiting (``hashing_gate``)
     ├── SimulationError        the server refused what ``nextup simulate`` needs (``simulate``)
     ├── KioskConfigError       a setting the kiosk cannot start with; also a ValueError (``kiosk.config``)
     └── LinkDown               the server did not answer the kiosk in time (``kiosk.link``)

Two private signals, ``kiosk_ws._TooSlow`` and ``phone._Closing``, derive from it too and never
leave their connection. ``printer.PrinterError`` is a root of its own (its tree is in
``printer/__init__.py``): the printer package is a standalone library that imports nothing of
NextUp; the kiosk catches its errors and carries on.
"""
