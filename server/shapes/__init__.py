"""Every shape NextUp reads or writes on the wire, declared once as a typed ``msgspec.Struct``.

A request body is decoded and checked by its Struct (``server.http.read_body``); a response, a
websocket message and the branch's TOML file are written from theirs; the OpenAPI document's
``components.schemas`` are generated from the same classes (``server.openapi.components``). A
field's limits (lengths, patterns, ranges, allowed values) are in its type, its description in
its ``Meta`` or the class docstring, so a limit is written in one place and reaches the check,
the message that names the field in words (``fields.rule``) and the document.

Modules, by area: ``fields`` (constrained field types and their rules in words), ``tickets``
(tickets and counter actions), ``branch`` (state, branch info, notices, audit, health),
``config`` (the branch configuration: TOML, ``GET/PUT .../config``), ``accounts`` (login, users,
sessions), ``devices`` (printer health, devices report, pairing), ``feedback`` (the phone page:
ticket message, ratings, complaints), ``errors`` (the error body) and ``messages`` (websocket
messages that the server builds).
"""
