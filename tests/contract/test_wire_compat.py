"""Our messages keep the upstream field names, numbers and types, checked from a data table.

tests/contract/wire_reference.json is extracted from ../shared/reference by
tools/wire_table.py. Every upstream field of a mirrored message must exist here with the same
number, type and cardinality, unless it is listed in OMITTED with the reason we leave it out;
an omitted field's number must stay unused so it can be added later without a clash. Where the
reference gives them, the field_behavior annotations and the JSON name must match too.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from tests.contract.conftest import PACKAGE, find_enum, find_message
from textgen._protobuf import is_repeated

TABLE: dict[str, Any] = json.loads((Path(__file__).parent / "wire_reference.json").read_text())

_GROUNDING = "grounding and retrieval are not offered by this API"
_MEDIA = "media-specific settings (video, speech, images) are not offered"
_HOSTED_TOOLS = "hosted tools (search, maps, computer use, file search) are not offered"

OMITTED: dict[tuple[str, str], str] = {
    ("Part", "video_metadata"): _MEDIA,
    ("Part", "part_metadata"): "free-form part metadata is not carried",
    ("Tool", "google_search_retrieval"): _HOSTED_TOOLS,
    ("Tool", "google_search"): _HOSTED_TOOLS,
    ("Tool", "computer_use"): _HOSTED_TOOLS,
    ("Tool", "url_context"): _HOSTED_TOOLS,
    ("Tool", "file_search"): _HOSTED_TOOLS,
    ("Tool", "google_maps"): _HOSTED_TOOLS,
    ("ToolConfig", "retrieval_config"): _GROUNDING,
    ("GenerationConfig", "enable_enhanced_civic_answers"): "civic answer tuning is not offered",
    ("GenerationConfig", "response_modalities"): _MEDIA,
    ("GenerationConfig", "speech_config"): _MEDIA,
    ("GenerationConfig", "image_config"): _MEDIA,
    ("GenerationConfig", "media_resolution"): _MEDIA,
    ("Candidate", "grounding_attributions"): _GROUNDING,
    ("Candidate", "grounding_metadata"): _GROUNDING,
    ("Candidate", "url_context_metadata"): _HOSTED_TOOLS,
}

# Upstream enum values we leave out, with the reason; none today (every value is declared,
# even those this server never produces, so that a reply from upstream decodes by name).
OMITTED_ENUM_VALUES: dict[tuple[str, str], str] = {}

# Fields whose field_behavior deliberately differs from the reference, with the reason.
BEHAVIOR_DIFFERS: dict[tuple[str, str], str] = {
    ("UpdateTunedModelRequest", "update_mask"): (
        "this server changes only the fields the mask names, so the mask is required"
    ),
}

# Vertex AI's TextGenerationModel.predict takes these sampling settings; the Generative
# Language text API does not.
_VERTEX_TEXT = "a sampling setting of Vertex AI's text models (predict)"

# Fields of ours in mirrored messages, with the reason. Their numbers must be none of the
# upstream message's, so a payload of either side decodes in the other.
OURS_ONLY: dict[tuple[str, str], str] = {
    ("CreateTunedModelRequest", "request_id"): "idempotent creates (AIP-155)",
    ("BatchCompletionRequest", "request_id"): "idempotent creates (AIP-155)",
    ("GenerateTextRequest", "presence_penalty"): _VERTEX_TEXT,
    ("GenerateTextRequest", "frequency_penalty"): _VERTEX_TEXT,
    ("GenerateTextRequest", "logprobs"): _VERTEX_TEXT,
    ("GenerateTextRequest", "logit_bias"): _VERTEX_TEXT,
    ("GenerateTextRequest", "seed"): _VERTEX_TEXT,
    (
        "TextCompletion",
        "avg_logprobs",
    ): "the log probabilities GenerateTextRequest.logprobs asks for",
    ("TextCompletion", "logprobs_result"): (
        "the log probabilities GenerateTextRequest.logprobs asks for"
    ),
}

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_DOUBLE: "double",
}


def ours(upstream: str) -> Descriptor:
    """Our descriptor for an upstream message name, following renames."""
    name = TABLE["renamed"].get(upstream, upstream)
    return find_message(f"{PACKAGE}.{name}")


def type_name(field: FieldDescriptor) -> str:
    """A field's type spelled as the reference spells it."""
    if field.type in _SCALARS:
        return _SCALARS[field.type]
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return str(field.enum_type.name)
    message = field.message_type
    assert message is not None, f"{field.full_name} has neither a scalar, enum nor message type"
    if message.GetOptions().map_entry:
        key, value = message.fields_by_name["key"], message.fields_by_name["value"]
        return f"map<{type_name(key)}, {type_name(value)}>"
    if message.full_name.startswith("google."):
        return str(message.full_name)
    upstream: dict[str, str] = {v: k for k, v in TABLE["renamed"].items()}
    return upstream.get(message.name, str(message.name))


def proto3_optional(field: FieldDescriptor) -> bool:
    """True for a field declared with proto3 `optional` (it sits in a synthetic oneof)."""
    message = descriptor_pb2.DescriptorProto()
    assert field.containing_type is not None
    field.containing_type.CopyToProto(message)
    return next(f.proto3_optional for f in message.field if f.name == field.name)


def behaviors(field: FieldDescriptor) -> list[str]:
    """The field's google.api.field_behavior annotations, by name, sorted."""
    # The googleapis stubs type the extension as a plain FieldDescriptor, which the typed
    # Extensions mapping does not accept as a key.
    extension: Any = field_behavior_pb2.field_behavior
    values: list[int] = list(field.GetOptions().Extensions[extension])
    return sorted(field_behavior_pb2.FieldBehavior.Name(value) for value in values)


def default_json_name(name: str) -> str:
    """The JSON name protoc gives a field that declares none (lowerCamelCase)."""
    return re.sub(r"_(.)", lambda match: match.group(1).upper(), name)


def reference_type(spelled: str) -> str:
    """The reference's type with nested names reduced to their last component."""
    if spelled.startswith(("google.", "map<")):
        return spelled
    return spelled.rsplit(".", 1)[-1]


MESSAGES = sorted(TABLE["messages"])


@pytest.mark.parametrize("upstream", MESSAGES)
def test_message_fields_match_reference(upstream: str) -> None:
    descriptor = ours(upstream)
    problems = []
    for row in TABLE["messages"][upstream]:
        name, number = row["name"], row["number"]
        if (upstream, name) in OMITTED:
            assert name not in descriptor.fields_by_name, f"{upstream}.{name} is listed as omitted"
            assert number not in descriptor.fields_by_number, (
                f"{upstream}: number {number} of omitted field {name} is reused"
            )
            continue
        field = descriptor.fields_by_name.get(name)
        if field is None:
            problems.append(f"{name} = {number} is missing")
            continue
        if field.number != number:
            problems.append(f"{name}: number {field.number}, reference {number}")
        if type_name(field) != reference_type(row["type"]):
            problems.append(f"{name}: type {type_name(field)}, reference {row['type']}")
        repeated = is_repeated(field) and not type_name(field).startswith("map<")
        if repeated != (row["label"] == "repeated"):
            problems.append(f"{name}: repeated={repeated}, reference label {row['label']}")
        scalar = field.type in _SCALARS or field.type == FieldDescriptor.TYPE_ENUM
        optional = proto3_optional(field)
        if scalar and optional != (row["label"] == "optional"):
            problems.append(f"{name}: optional={optional}, reference {row['label']}")
        in_oneof = field.containing_oneof is not None and not optional
        if (row["oneof"] != "-") != in_oneof:
            problems.append(f"{name}: oneof membership differs from reference {row['oneof']}")
        expected = sorted(row.get("behavior", behaviors(field)))
        if (upstream, name) not in BEHAVIOR_DIFFERS and behaviors(field) != expected:
            problems.append(f"{name}: field_behavior {behaviors(field)}, reference {expected}")
        json_name = row.get("json_name", default_json_name(name))
        if field.json_name != json_name:
            problems.append(f"{name}: json_name {field.json_name}, reference {json_name}")
    assert not problems, f"{upstream}: " + "; ".join(problems)


@pytest.mark.parametrize("upstream", MESSAGES)
def test_no_fields_beyond_reference(upstream: str) -> None:
    """A mirrored message adds no fields of its own, so upstream numbers never collide."""
    known = {row["name"] for row in TABLE["messages"][upstream]}
    numbers = {row["number"] for row in TABLE["messages"][upstream]}
    descriptor = ours(upstream)
    extra = sorted(set(descriptor.fields_by_name) - known)
    unexplained = [name for name in extra if (upstream, name) not in OURS_ONLY]
    assert not unexplained, f"{upstream} has fields the upstream message lacks: {unexplained}"
    clashes = [name for name in extra if descriptor.fields_by_name[name].number in numbers]
    assert not clashes, f"{upstream}: our own fields {clashes} reuse upstream numbers"


@pytest.mark.parametrize("enum_path", sorted(TABLE["enums"]))
def test_enum_values_match_reference(enum_path: str) -> None:
    enum = find_enum(f"{PACKAGE}.{enum_path}")
    reference: dict[str, int] = TABLE["enums"][enum_path]
    ours_values = {value.name: value.number for value in enum.values}
    for name, number in ours_values.items():
        assert reference.get(name) == number, f"{enum_path}.{name} = {number} not in reference"
    missing = {name for name in reference if name not in ours_values}
    unexplained = {name for name in missing if (enum_path, name) not in OMITTED_ENUM_VALUES}
    assert not unexplained, f"{enum_path} lacks {sorted(unexplained)}"


def test_omissions_name_real_reference_fields() -> None:
    """Every omission refers to a field the reference really has (no stale entries)."""
    for upstream, name in [*OMITTED, *BEHAVIOR_DIFFERS]:
        names = {row["name"] for row in TABLE["messages"][upstream]}
        assert name in names, f"{upstream}.{name} is listed here but the reference lacks it"
    for upstream, name in BEHAVIOR_DIFFERS:
        row = next(row for row in TABLE["messages"][upstream] if row["name"] == name)
        field = ours(upstream).fields_by_name[name]
        assert behaviors(field) != sorted(row["behavior"]), f"{upstream}.{name} no longer differs"
    for upstream, name in OURS_ONLY:
        names = {row["name"] for row in TABLE["messages"][upstream]}
        assert name not in names, f"{upstream}.{name} is upstream's now: drop it from OURS_ONLY"
        assert name in ours(upstream).fields_by_name, f"{upstream}.{name} is not ours any more"
    for enum_path, value in OMITTED_ENUM_VALUES:
        assert value in TABLE["enums"][enum_path]


def test_table_matches_shared_reference(tmp_path: Path) -> None:
    """The committed table is what tools/wire_table.py extracts from ../shared/reference."""
    root = Path(__file__).resolve().parents[2]
    reference = root.parent / "shared" / "reference"
    if not reference.is_dir():
        pytest.skip("../shared/reference is not beside the checkout")
    module = runpy.run_path(str(root / "tools" / "wire_table.py"))
    out = tmp_path / "table.json"
    module["main"](reference, out)
    assert json.loads(out.read_text()) == TABLE
