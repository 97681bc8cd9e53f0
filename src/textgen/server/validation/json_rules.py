"""The rules for JSON in a ModelService request: numbers in JSON values are finite (JSON has
no NaN or Infinity), a JSON Schema document is the alternative to a Schema field and is
checked as schema_limits says, and the answer's MIME type goes with the schema it names."""

from __future__ import annotations

import math

from google.protobuf import struct_pb2

from textgen.server.validation.rules import AnyRule, CrossRule, Fault, Rule, TreeRule
from textgen.server.validation.schema_limits import document_faults, schema_faults
from textgen.v1 import generation_pb2

JSON_MIME_TYPE = "application/json"
TEXT_MIME_TYPE = "text/plain"
# The answer is one of the values the response schema enumerates, as plain text.
ENUM_MIME_TYPE = "text/x.enum"
RESPONSE_MIME_TYPES = frozenset({"", TEXT_MIME_TYPE, JSON_MIME_TYPE, ENUM_MIME_TYPE})


def finite_numbers(value: struct_pb2.Value) -> bool:
    """True when no number anywhere in a JSON value is NaN or infinite (JSON has neither)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = item.WhichOneof("kind")
        if kind == "number_value" and not math.isfinite(item.number_value):
            return False
        if kind == "struct_value":
            pending.extend(item.struct_value.fields.values())
        elif kind == "list_value":
            pending.extend(item.list_value.values)
    return True


_FINITE = "must hold only finite numbers (JSON has no NaN or Infinity)"


def struct_faults(document: struct_pb2.Struct) -> list[Fault]:
    """A fault for each NaN or infinite number in a JSON object (function call arguments,
    a function's response), naming where it sits in the object as a JSON pointer."""
    found: list[Fault] = []
    pending: list[tuple[str, struct_pb2.Value]] = [
        (f"/{_escaped(key)}", value) for key, value in document.fields.items()
    ]
    while pending:
        pointer, item = pending.pop()
        kind = item.WhichOneof("kind")
        if kind == "number_value" and not math.isfinite(item.number_value):
            found.append(("", f"holds {item.number_value} at {pointer}; {_FINITE}"))
        elif kind == "struct_value":
            pending.extend(
                (f"{pointer}/{_escaped(key)}", value)
                for key, value in item.struct_value.fields.items()
            )
        elif kind == "list_value":
            pending.extend(
                (f"{pointer}/{index}", value) for index, value in enumerate(item.list_value.values)
            )
    return sorted(found)


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _either(first: str, second: str, within: str = "") -> CrossRule:
    """A message (or each one `within` reaches) may set `first` or `second`, not both;
    reported on `second`."""
    return CrossRule(
        second,
        lambda message: not (message.HasField(second) and message.HasField(first)),
        f"set either {first} or {second}, not both",
        within=within,
        when_set=True,
    )


def _finite(name: str, within: str) -> CrossRule:
    """The JSON value in `name`, where set on each message `within` reaches, is finite."""
    return CrossRule(
        name,
        lambda message: not message.HasField(name) or finite_numbers(getattr(message, name)),
        _FINITE,
        within=within,
        when_set=True,
    )


def _response_json_schema_rules(name: str) -> list[AnyRule]:
    return [
        _either("response_schema", name),
        CrossRule(
            name,
            lambda config: not config.HasField(name) or config.response_mime_type == JSON_MIME_TYPE,
            f"requires response_mime_type {JSON_MIME_TYPE}",
            when_set=True,
        ),
        Rule(name, finite_numbers, _FINITE),
        TreeRule(name, document_faults),
    ]


def _enumerates(config: generation_pb2.GenerationConfig) -> bool:
    """Whether the config's response_schema lists enum values (a JSON Schema document is
    for application/json answers only, see below)."""
    return config.HasField("response_schema") and len(config.response_schema.enum) > 0


# An enum answer needs the values to choose from.
ENUM_ANSWER_RULE = CrossRule(
    "response_schema",
    lambda config: config.response_mime_type != ENUM_MIME_TYPE or _enumerates(config),
    f"response_mime_type {ENUM_MIME_TYPE} needs a response_schema that lists enum values",
)


# GenerationConfig may carry a JSON Schema document for the answer in either of two fields,
# response_json_schema (24, what gRPC clients set) and response_json_schema_ordered (28,
# where REST's `responseJsonSchema` lands; generation.proto says why). Both follow the same
# rules, each excludes response_schema, and only one may be set.
RESPONSE_JSON_SCHEMA_RULES: list[AnyRule] = [
    *_response_json_schema_rules("response_json_schema"),
    *_response_json_schema_rules("response_json_schema_ordered"),
    _either("response_json_schema", "response_json_schema_ordered"),
]

_DECLARATIONS = "tools[].function_declarations[]"
# A FunctionDeclaration's JSON Schema documents, each the alternative to a Schema field
# (the four rules share one walk over the declarations).
FUNCTION_JSON_SCHEMA_RULES: list[AnyRule] = [
    _either("parameters", "parameters_json_schema", _DECLARATIONS),
    _either("response", "response_json_schema", _DECLARATIONS),
    _finite("parameters_json_schema", _DECLARATIONS),
    _finite("response_json_schema", _DECLARATIONS),
    TreeRule(f"{_DECLARATIONS}.parameters", schema_faults),
    TreeRule(f"{_DECLARATIONS}.response", schema_faults),
    TreeRule(f"{_DECLARATIONS}.parameters_json_schema", document_faults),
    TreeRule(f"{_DECLARATIONS}.response_json_schema", document_faults),
]
# Function calls and function responses in the turns carry JSON objects, finite throughout.
FUNCTION_PART_RULES: list[AnyRule] = [
    TreeRule("contents[].parts[].function_call.args", struct_faults),
    TreeRule("contents[].parts[].function_response.response", struct_faults),
]
