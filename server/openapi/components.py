"""``components.schemas``: generated from the shapes of ``server.shapes``, not written by hand.

``msgspec.json.schema_components`` writes each Struct's fields, limits and descriptions. On top,
what the generated schemas leave open:

- a reply carries every field its Struct has (the encoder writes them all, null or not) unless
  the field may be left out (``UNSET``), so reply shapes require every other field;
- what a type cannot say (``EXTRAS``): only an admin account may belong to every branch, a
  complaint change sends a state or an answer, error bodies may carry more fields;
- narrowed to a branch (``narrow``): service and counter fields list that branch's ids.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import inspect as mi

from server.auth import Role
from server.config import Branch
from server.shapes import accounts, branch, config, devices, errors, feedback, tickets
from server.shapes.fields import NOT_SPACE, Shape, choice, trimmed

Schema = dict[str, Any]
REF = "#/components/schemas/{name}"

#: Every shape the HTTP API reads or writes; the shapes they contain come along.
SHAPES: tuple[type[msgspec.Struct], ...] = (
    tickets.Ticket, tickets.NewTicket, tickets.ServiceChoice, tickets.NumberChoice, tickets.PauseReason,
    tickets.NoFields, tickets.CounterStatusResult, tickets.CounterHolder,
    branch.State, branch.BranchInfo, branch.Notice, branch.NoticeRequest, branch.Audit, branch.Health,
    branch.EmergencyRequest, branch.EmergencyState,
    config.BranchConfig, config.BranchSettingsChange, config.HoursChange, config.ServiceChange, config.CounterChange,
    accounts.LoginRequest, accounts.Login, accounts.Session, accounts.NewUser, accounts.User, accounts.Accounts,
    accounts.AccountChange,
    devices.Devices, devices.PairingRequest, devices.PairingAsked, devices.PairingApproval, devices.PairingApproved,
    devices.PairingClaim, devices.PairingWaiting, devices.PairingClaimed,
    feedback.TicketMessage, feedback.RatingRequest, feedback.Rating, feedback.ComplaintRequest,
    feedback.ComplaintFiled, feedback.Complaints, feedback.ComplaintChange, feedback.Ratings,
    errors.Error,
)  # fmt: skip

#: What a schema cannot say of its Struct, merged into the generated schema.
EXTRAS: dict[str, Schema] = {
    "NewUser": {
        "if": {"properties": {"role": {"type": "string", "pattern": trimmed(choice([Role.ADMIN]))}}},
        "else": {"properties": {"branch": {"not": {"type": "string", "pattern": trimmed(r"\*")}}}},
    },
    "ComplaintChange": {
        "anyOf": [
            {"required": ["state"]},
            {"required": ["answer"], "properties": {"answer": {"type": "string", "pattern": NOT_SPACE}}},
        ]
    },
    "ErrorDetail": {"additionalProperties": True},
}


def ref(shape: type[msgspec.Struct]) -> Schema:
    """A reference to the component of ``shape``."""
    return {"$ref": REF.format(name=shape.__name__)}


def _structs(types: tuple[type[msgspec.Struct], ...]) -> dict[str, type[msgspec.Struct]]:
    """Every Struct the shapes reach, by component name."""
    found: dict[str, type[msgspec.Struct]] = {}

    def visit(t: mi.Type) -> None:
        if isinstance(t, mi.Metadata):
            visit(t.type)
        elif isinstance(t, mi.StructType):
            if t.cls.__name__ not in found:
                found[t.cls.__name__] = t.cls
                for f in t.fields:
                    visit(f.type)
        elif isinstance(t, mi.UnionType):
            for member in t.types:
                visit(member)
        elif isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
            visit(t.item_type)
        elif isinstance(t, mi.DictType):
            visit(t.value_type)

    for info in mi.multi_type_info(types):
        visit(info)
    return found


def _is_reply(shape: type[msgspec.Struct]) -> bool:
    return not issubclass(shape, Shape) and not shape.__struct_config__.forbid_unknown_fields


def schemas(of: Branch | None = None) -> dict[str, Schema]:
    """The document's ``components.schemas``; given a branch, narrowed to its ids."""
    _, components = msgspec.json.schema_components(SHAPES, ref_template=REF)
    for name, shape in _structs(SHAPES).items():
        schema = components[name]
        if _is_reply(shape):
            schema["required"] = [
                f.encode_name for f in msgspec.structs.fields(shape) if f.default is not msgspec.UNSET
            ]
        schema.update(EXTRAS.get(name, {}))
    return narrow(components, of) if of is not None else components


def _only(values: list[str]) -> Schema:
    return {"type": "string", "enum": values}


def narrow(components: dict[str, Schema], of: Branch) -> dict[str, Schema]:
    """Service, counter and branch fields of requests limited to the ids of the branch ``of``."""
    services, counters = list(of.services), list(of.counters)

    def field(component: str, name: str) -> Schema:
        properties: Schema = components[component]["properties"]
        found: Schema = properties[name]
        return found

    for component in ("NewTicket", "ServiceChoice"):
        field(component, "service")["pattern"] = trimmed(choice(services))
    field("NewUser", "branch")["anyOf"][0]["pattern"] = trimmed(choice([of.id, "*"]))
    for component in ("NewUser", "AccountChange", "ServiceChange"):
        field(component, "counters")["items"] = _only(counters)
    field("CounterChange", "services")["items"] = _only(services)
    return components
