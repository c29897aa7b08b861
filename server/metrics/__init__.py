"""Service-efficiency metrics computed from each branch's event stream.

- ``tally``: events -> per-day tallies and duration samples (no I/O);
- ``stats``: percentiles, service level, utilisation, Erlang C staffing (no I/O);
- ``consumer``: the consumer group member that applies every event exactly once;
- ``report``: a date range's metrics as JSON or CSV;
- ``prometheus``: the ``/metrics`` exposition for operations;
- ``routes``: the HTTP endpoints; ``report_cli``: ``nextup report``;
- ``dashboard``: the managers' page; ``estimate``: the modelled wait of each waiting ticket.

Their Redis keys are in ``server/keys.py`` (``metrics_*``).
"""
