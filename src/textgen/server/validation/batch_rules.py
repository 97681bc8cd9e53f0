"""TextGenerationBatchService's rule sets: what a BatchCompletionRequest needs on its own,
checked before any lookup, and what it needs of the model it names."""

from __future__ import annotations

from google.protobuf import json_format

from textgen.server.validation import schema_limits
from textgen.server.validation.json_rules import struct_faults
from textgen.server.validation.rules import AnyRule, CrossRule, Rule, TreeRule, at_most
from textgen.v1 import model_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

# Any of these lets a model answer batch prompts.
GENERATION_METHODS = ("generateContent", "generateText", "generateMessage")


def _object_schema(request: batch_pb2.BatchCompletionRequest) -> bool:
    if request.WhichOneof("response_format") != "json_schema":
        return True
    kind = request.json_schema.schema.fields.get("type")
    return (
        kind is not None
        and kind.WhichOneof("kind") == "string_value"
        and (kind.string_value.lower() == "object")
    )


BATCH_COMPLETION_RULES: list[AnyRule] = [
    CrossRule("model_uri", lambda m: bool(m.model_uri), "is required", "REQUIRED_FIELD"),
    Rule("completion_options.temperature", lambda w: 0 <= w.value <= 1, "must be between 0 and 1"),
    Rule("completion_options.max_tokens", lambda w: w.value > 0, "must be greater than 0"),
    Rule("completion_options.stream", lambda v: not v, "must be false: batch tasks do not stream"),
    CrossRule(
        "json_schema.schema", _object_schema, 'must be a JSON Schema object ("type": "object")'
    ),
    TreeRule("json_schema.schema", struct_faults),
    TreeRule("json_schema.schema", schema_limits.struct_faults),
    CrossRule(
        "source_dataset_id", lambda m: bool(m.source_dataset_id), "is required", "REQUIRED_FIELD"
    ),
]


def _output_cap(request: batch_pb2.BatchCompletionRequest, limit: int) -> int:
    """How many tokens each answer may take: max_tokens, else the model's limit."""
    options = request.completion_options
    return options.max_tokens.value if options.HasField("max_tokens") else limit


def _fits(request: batch_pb2.BatchCompletionRequest, limit: int) -> bool:
    """Whether the fewest values the json_schema asks for fit in the output cap (checked
    after the syntax rules, so the document is finite and not too deep)."""
    if request.WhichOneof("response_format") != "json_schema":
        return True
    cap = _output_cap(request, limit)
    document = json_format.MessageToDict(request.json_schema.schema)
    return schema_limits.fewest_values(document, cap) <= cap


def batch_model_rules(base: model_pb2.Model) -> list[AnyRule]:
    """Checks that need the base model the request resolved to."""
    limit = base.output_token_limit
    return [
        CrossRule(
            "json_schema.schema",
            lambda request: _fits(request, limit),
            "asks for more values than the output cap allows",
            describe=lambda request: schema_limits.size_message(
                _output_cap(request, limit), "completion_options.max_tokens"
            ),
        ),
        Rule(
            "completion_options.max_tokens",
            lambda w: at_most(limit)(w.value),
            f"must be at most the model's output_token_limit ({limit})",
        ),
        CrossRule(
            "model_uri",
            lambda _: bool(set(GENERATION_METHODS) & set(base.supported_generation_methods)),
            f"{base.name} does not generate text",
            "UNSUPPORTED_METHOD",
        ),
    ]
