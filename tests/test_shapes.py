"""The shapes of ``server.shapes``: a body decoded by its Struct, refusals that name the field in
words, and the OpenAPI schema generated from the same declarations. No Redis, no HTTP."""

from __future__ import annotations

import msgspec
import pytest
from jsonschema import Draft202012Validator

from server.config import demo_branch
from server.errors import ApiError
from server.events import PrinterHealth
from server.http import decode_body
from server.openapi.components import schemas
from server.shapes.accounts import AccountChange, NewUser
from server.shapes.config import BranchSettingsChange, ServiceChange
from server.shapes.feedback import ComplaintChange, ComplaintState
from server.shapes.tickets import NewTicket, PauseReason


def refusal(body: bytes, shape: type[msgspec.Struct]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        decode_body(body, shape)
    return raised.value


def test_text_fields_are_stripped_once_checked_and_enum_values_stay_members() -> None:
    """Surrounding spaces go after the checks; a ComplaintState stays one (strip() would make it a str)."""
    assert decode_body(b'{"service": " \\u3000B\\t"}', NewTicket) == NewTicket(service="B")
    change = decode_body(b'{"state": "answered", "answer": "  Sorry.  "}', ComplaintChange)
    assert change.state is ComplaintState.ANSWERED and change.answer == "Sorry."


@pytest.mark.parametrize(
    ("body", "shape", "field", "words"),
    [
        (b'{"service": "A", "priority": 1}', NewTicket, "priority", "'priority' must be true or false"),
        (b"{}", NewTicket, "service", "'service' is missing: it must be a non-empty string of at most 32"),
        (b'{"reason": "' + b"x" * 201 + b'"}', PauseReason, "reason", "at most 200 characters"),
        (b'{"username": "a b", "password": "long-enough", "role": "staff"}', NewUser, "username",
         "'username' must be 1-64 letters, digits"),
        (b'{"username": "ab", "password": "  seven  ", "role": "staff"}', NewUser, "password",
         "'password' must have at least 8 characters"),
        (b'{"role": "admin"}', AccountChange, "role", "Unknown field 'role'; allowed: password, disabled, counters"),
        (b'{"number_width": 9}', BranchSettingsChange, "number_width", "must be a whole number from 2 to 6"),
    ],
)  # fmt: skip
def test_a_wrong_field_is_422_naming_it_with_its_rule_in_words(
    body: bytes, shape: type[msgspec.Struct], field: str, words: str
) -> None:
    """The refusal names the field and says, from its declaration, what it must be."""
    error = refusal(body, shape)
    assert (error.status, error.code, error.extra["field"]) == (422, "invalid_field", field)
    assert words in error.message


@pytest.mark.parametrize(
    "body",
    [b"[]", b"null", b'{"service": "A"', b'{"role": "admin", ', b'{"x": "\\ud800"}', b'{"x": "\xff"}'],
)
def test_a_body_that_is_not_a_json_object_is_400_even_after_a_wrong_field(body: bytes) -> None:
    """Not an object, cut short (also after an unknown field), a lone surrogate or bad UTF-8 anywhere: 400."""
    assert refusal(body, AccountChange).status == 400


def test_a_change_makes_every_field_optional_and_forbids_others() -> None:
    """A configuration change is its table's fields, each optional, and no other (plus its own extras)."""
    assert decode_body(b"{}", ServiceChange) == ServiceChange()
    change = decode_body(b'{"daily_cap": 5, "counters": ["1"]}', ServiceChange)
    sent = {name: value for name, value in msgspec.structs.asdict(change).items() if value is not msgspec.UNSET}
    assert sent == {"daily_cap": 5, "counters": ["1"]}
    assert refusal(b'{"id": "A"}', ServiceChange).extra["field"] == "id"


def test_printer_health_names_the_field_at_fault() -> None:
    """A kiosk's printer status with a wrong field is refused naming it, in words."""
    with pytest.raises(ValueError, match=r"'printer\.paper_out' must be true or false"):
        PrinterHealth.from_json({"online": True, "paper_out": "no"})
    assert PrinterHealth.from_json({"error": "x" * 400}).error == "x" * 300


def test_the_generated_schema_states_the_declared_limits() -> None:
    """A limit declared once reaches the document: what the schema allows, the Struct accepts, and back."""
    components = schemas()
    new_ticket = Draft202012Validator(components["NewTicket"])
    for body in ({"service": " A "}, {"service": "x" * 33}, {"service": "\t"}, {"service": "A", "priority": 1}):
        allowed = new_ticket.is_valid(body)
        try:
            decode_body(msgspec.json.encode(body), NewTicket)
            accepted = True
        except ApiError:
            accepted = False
        assert allowed == accepted, body
    assert components["BranchSettingsChange"]["properties"]["number_width"] == {
        "description": "Digits of a ticket number after its prefix.", "type": "integer", "minimum": 2, "maximum": 6,
    }  # fmt: skip
    assert components["BranchSettingsChange"]["additionalProperties"] is False


def test_a_reply_schema_requires_every_field_the_encoder_writes() -> None:
    """Replies require all their fields, except a ticket's id, which screens do not get."""
    ticket = schemas()["Ticket"]
    assert set(ticket["required"]) == set(ticket["properties"]) - {"id"}


def test_the_branch_document_lists_the_branch_ids() -> None:
    """Narrowed to the demo branch, counters and services are its ids."""
    components = schemas(demo_branch())
    assert components["AccountChange"]["properties"]["counters"]["items"]["enum"] == ["1", "2", "3", "4"]
    assert components["CounterChange"]["properties"]["services"]["items"]["enum"] == ["A", "B", "C"]
