"""Field types with their limits, shared by the shapes, and each type's rule in words.

A request's text field is stripped (Python's ``str.strip()``) before it is used, so its pattern
lets the characters ``strip`` removes surround the value (``SPACE``): the schema's pattern is the
check the server runs (msgspec matches patterns with ``re.search``), for every client alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

import msgspec
from msgspec import Meta
from msgspec import inspect as mi

#: Every character Python's ``str.strip()`` removes. ``\s`` would not do: regex engines disagree
#: with Python (and each other) on which characters it covers.
SPACE = r"[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
#: A value with at least one character that is not ``SPACE``: not blank once stripped.
NOT_SPACE = "[^" + SPACE[1:]
#: The shape of a ticket id (the server answers 404 for any other path segment).
TICKET_ID = r"^[A-Za-z0-9_-]{1,64}$"
#: The shape of a branch, service or counter id in the configuration.
CONFIG_ID = r"^[A-Za-z0-9_-]{1,32}$"
#: An account's username (new accounts; a login with any other is simply wrong).
USERNAME = r"^[A-Za-z0-9_.-]{1,64}$"
#: A Redis stream entry id: the seq of an event.
SEQ = r"^[0-9]+-[0-9]+$"

#: Limits of request fields.
MAX_SERVICE = 32
MAX_NUMBER = 8
MAX_REASON = 200
MAX_USERNAME = 64
MAX_PASSWORD = 1024
MAX_ROLE = 16
MAX_BRANCH = 32
MIN_PASSWORD = 8
MAX_NOTICE = 500


def choice(values: Iterable[str]) -> str:
    """A pattern matching exactly one of ``values``."""
    return "|".join(re.escape(v) for v in values)


def trimmed(pattern: str) -> str:
    """``pattern`` (unanchored) as a whole value, allowing what ``str.strip()`` removes around it."""
    return f"^{SPACE}*(?:{pattern}){SPACE}*$"


def text(max_length: int, pattern: str | None = None, *, rule: str = "", description: str = "") -> Meta:
    """The limits of a string the server strips and then uses (``Annotated[str, text(...)]``): not
    blank, or matching ``pattern`` once stripped.

    ``rule`` says in words what the pattern asks, for the message that refuses a value.
    """
    return Meta(
        max_length=max_length,
        pattern=trimmed(pattern) if pattern else NOT_SPACE,
        description=description or None,
        extra={"rule": rule} if rule else None,
    )


#: At least ``MIN_PASSWORD`` characters once stripped: two non-space characters that far apart.
Password = Annotated[
    str,
    Meta(
        max_length=MAX_PASSWORD,
        pattern=f"{NOT_SPACE}[\\s\\S]{{{MIN_PASSWORD - 2},}}{NOT_SPACE}",
        extra={"rule": f"must have at least {MIN_PASSWORD} characters (at most {MAX_PASSWORD})"},
    ),
]
#: A time with the branch's UTC offset and milliseconds: 2026-11-28T09:30:00.000+08:00.
Time = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
#: A calendar date: 2026-11-28.
Day = Annotated[str, Meta(extra_json_schema={"format": "date"})]
Count = Annotated[int, Meta(ge=0)]
Seconds = Annotated[int, Meta(ge=1, description="Seconds.")]


class Shape(msgspec.Struct):
    """A request body: its text fields are stripped once decoded (after their checks)."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if type(value) is str:  # not an Enum member, which strip() would turn into a plain str
                setattr(self, name, value.strip())


# ---- Rules in words ----------------------------------------------------------------------------


def field_type(shape: type[msgspec.Struct], name: str) -> mi.Type | None:
    """The declared type of the field ``name`` of ``shape`` (by its name on the wire)."""
    info = mi.type_info(shape)
    if not isinstance(info, mi.StructType):
        return None
    return next((f.type for f in info.fields if f.encode_name == name), None)


def rule(t: mi.Type) -> str:
    """What a value of type ``t`` must be, in words: "must be a whole number from 2 to 6"."""
    words = ""
    while isinstance(t, mi.Metadata):
        words = words or str((t.extra or {}).get("rule", ""))
        t = t.type
    if words:
        return words
    if isinstance(t, mi.UnionType):
        parts = [rule(member) for member in t.types if not isinstance(member, mi.NoneType)]
        return " or ".join(parts) if parts else "must be null"
    if isinstance(t, mi.StrType):
        longest = f" of at most {t.max_length} characters" if t.max_length is not None else ""
        return f"must be a non-empty string{longest}"
    if isinstance(t, mi.BoolType):
        return "must be true or false"
    if isinstance(t, (mi.IntType, mi.FloatType)):
        low = t.ge if t.ge is not None else t.gt
        high = t.le if t.le is not None else t.lt
        kind = "a whole number" if isinstance(t, mi.IntType) or t.multiple_of == 1 else "a number"
        if low is not None and high is not None:
            return f"must be {kind} from {low:g} to {high:g}"
        if low is not None:
            return f"must be {kind} of at least {low:g}"
        return f"must be {kind}"
    if isinstance(t, mi.LiteralType):
        return "must be " + " or ".join(repr(v) for v in t.values)
    if isinstance(t, mi.EnumType):
        return "must be " + " or ".join(repr(m.value) for m in t.cls)
    if isinstance(t, (mi.ListType, mi.TupleType, mi.VarTupleType)):
        item = t.item_type if isinstance(t, (mi.ListType, mi.VarTupleType)) else None
        least = " non-empty" if getattr(t, "min_length", None) else ""
        of = " of strings" if isinstance(item, mi.StrType) else ""
        return f"must be a{least} list{of}"
    if isinstance(t, mi.StructType):
        return "must be an object"
    return "has the wrong type"


_AT = re.compile(r" - at `\$((?:\.[^.\[`]+|\[[0-9]+\])*)`$")
_NAMED = re.compile(r"^Object (missing required|contains unknown) field `([^`]+)`")


def explain(error: msgspec.ValidationError, shape: type[msgspec.Struct]) -> tuple[str | None, str]:
    """The field a refused value of ``shape`` belongs to (None: the whole value) and why, in words.

    msgspec names the place as ``$.counters[0]``; the field is the first name of that path, and
    the reason the rule of its declared type (``rule``).
    """
    text = str(error)
    named = _NAMED.match(text)
    where = _AT.search(text)
    path = where.group(1) if where else ""
    if named:
        path = f"{path}.{named.group(2)}"
    name = path.lstrip(".").split(".", 1)[0].split("[", 1)[0] or None
    if name is None:
        return None, text
    if named and named.group(1) == "contains unknown":
        allowed = ", ".join(f.encode_name for f in msgspec.structs.fields(shape))
        return name, f"Unknown field {name!r}; allowed: {allowed}"
    declared = field_type(shape, name)
    if declared is None:
        return name, f"'{name}': {_AT.sub('', text)}"
    missing = " is missing: it" if named else ""
    return name, f"'{name}'{missing} {rule(declared)}"
