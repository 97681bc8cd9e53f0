"""JSON shaped like the upstream APIs' payloads decodes strictly in ours and encodes back the same.

Each file in payloads/ names one of our message types and a payload written the way the
upstream REST APIs send it (camelCase names, enum names, int64 as strings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message_factory import GetMessageClass
from textgen.v1 import generation_pb2

from tests.contract.conftest import find_message

PAYLOADS = sorted((Path(__file__).parent / "payloads").glob("*.json"))


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.stem)
def test_payload_decodes_and_reencodes(path: Path) -> None:
    recorded: dict[str, Any] = json.loads(path.read_text())
    cls = GetMessageClass(find_message(recorded["type"]))
    message = json_format.ParseDict(recorded["json"], cls(), ignore_unknown_fields=False)
    assert message.ByteSize() > 0
    again = json_format.MessageToDict(message)
    assert _floats_rounded(again) == _floats_rounded(recorded["json"])


def _floats_rounded(value: Any) -> Any:
    """Compare float fields at float32 precision, as the wire stores most of them."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: _floats_rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_floats_rounded(item) for item in value]
    return value


def test_there_are_payloads() -> None:
    assert len(PAYLOADS) >= 8


def test_rest_response_json_schema_is_field_28() -> None:
    """As upstream, a REST body's `responseJsonSchema` is field 28 (response_json_schema_ordered);
    field 24 (response_json_schema, what gRPC clients set by name) is `_responseJsonSchema`."""
    config = generation_pb2.GenerationConfig()
    json_format.Parse('{"responseJsonSchema": {"type": "object"}}', config)
    assert [field.number for field, _ in config.ListFields()] == [28]
    assert config.response_json_schema_ordered.struct_value["type"] == "object"

    config = generation_pb2.GenerationConfig()
    config.response_json_schema.struct_value["type"] = "string"
    assert json_format.MessageToDict(config) == {"_responseJsonSchema": {"type": "string"}}
