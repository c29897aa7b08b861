"""Exception tree of the printer package (drawn in the package docstring).

Callers normally catch ``PrinterError``; the subclasses exist so the kiosk can
tell the customer something useful ("printer out of paper" vs "printer
unreachable") and so operators can tell configuration mistakes, which retrying
will never fix, from transient device trouble.
"""

from __future__ import annotations


class PrinterError(Exception):
    """Root of every error raised by the printer package."""


class PrinterConfigError(PrinterError, ValueError):
    """Bad URL, profile or font setting: fix the configuration, retrying won't help."""


class FontNotFound(PrinterConfigError):
    """Raster mode or a preview needs a CJK font and none usable was found."""


class TicketDataError(PrinterError, ValueError):
    """The TicketPrint itself is invalid (naive datetime, negative counts...)."""


class PrinterUnsupported(PrinterError):
    """The transport cannot do this at all (e.g. status over ``file://``)."""


class PrinterProtocolError(PrinterError):
    """The device answered, but not with bytes an ESC/POS printer would send."""


class PrinterUnavailable(PrinterError):
    """The printer cannot print right now; retry later or use another printer."""


class PrinterOffline(PrinterUnavailable):
    """The device cannot be reached or reports itself offline."""


class PrinterTimeout(PrinterOffline):
    """The device did not connect, take the data or answer within the deadline."""


class PaperOut(PrinterUnavailable):
    """The paper roll end sensor fired: someone must load paper."""


class CoverOpen(PrinterUnavailable):
    """The printer cover is open."""
