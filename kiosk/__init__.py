"""The ticket kiosk (取号机): a touch page on the kiosk PC, one websocket to the server, a ticket printer.

``nextup kiosk --server URL --branch B --token T --printer URL`` (``kiosk.cli``) serves the page on
localhost for a full-screen browser and runs a ``Kiosk``. Read ``kiosk/README.md`` first.

Modules: ``config`` (the settings), ``link`` (the websocket to the server, reconnecting by itself),
``printing`` (TicketPrint from a ticket, printing in a worker thread, printer health),
``qr_image`` (the QR code for the screen), ``kiosk`` (the page's state and a tap turned into a
printed ticket), ``app`` (the page, its static files and its local websocket), ``cli`` and
``demo`` (the kiosk ``nextup serve`` mounts for the demo branch).

Errors: ``config.KioskConfigError`` (a setting it cannot start with) and ``link.LinkDown`` (the server
did not answer) are ``server.errors.NextUpError``s (the tree is in ``server/__init__.py``); printing
errors are ``printer.PrinterError`` and never stop the kiosk.
"""
