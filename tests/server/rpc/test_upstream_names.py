"""The upstream names used in refusals agree with the wire reference, and cover every upstream
field a request can carry that the contract leaves out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor

from textgen.contract import services
from textgen.server.rpc.upstream_names import UPSTREAM_NAMES

REFERENCE: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "contract" / "wire_reference.json").read_text()
)
PACKAGE = "textgen.v1."


def _ours(upstream: str) -> str:
    return PACKAGE + str(REFERENCE["renamed"].get(upstream, upstream))


def _reference_numbers(full_name: str) -> dict[int, str]:
    """Number -> name of the upstream fields of the message we call `full_name`."""
    (upstream,) = [name for name in REFERENCE["messages"] if _ours(name) == full_name]
    return {row["number"]: row["name"] for row in REFERENCE["messages"][upstream]}


def _request_messages() -> dict[str, Descriptor]:
    """Every message a request of the contract can hold, at any depth, by full name."""
    found: dict[str, Descriptor] = {}
    pending = [method.input_type for service in services() for method in service.methods]
    while pending:
        message = pending.pop()
        if message.full_name in found:
            continue
        found[message.full_name] = message
        pending.extend(f.message_type for f in message.fields if f.message_type is not None)
    return found


def test_names_and_numbers_are_the_reference_ones() -> None:
    for full_name, names in UPSTREAM_NAMES.items():
        reference = _reference_numbers(full_name)
        for number, name in names.items():
            assert reference.get(number) == name, f"{full_name} #{number}: {name}"


def test_every_left_out_field_of_a_request_message_is_named() -> None:
    requests = _request_messages()
    unnamed = [
        f"{_ours(upstream)}.{row['name']} = {row['number']}"
        for upstream, rows in REFERENCE["messages"].items()
        if _ours(upstream) in requests
        for row in rows
        if row["number"] not in requests[_ours(upstream)].fields_by_number
        and row["number"] not in UPSTREAM_NAMES.get(_ours(upstream), {})
    ]
    assert unnamed == []
    assert "textgen.v1.Part" in requests and "textgen.v1.Candidate" not in requests
