"""TextGenerationBatchService's rule sets: what a BatchCompletionRequest needs on its own,
checked before any lookup, and what it needs of the model it names."""

from __future__ import annotations

from textgen.server.validation.rules import AnyRule, CrossRule, Rule, at_most
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
    CrossRule(
        "source_dataset_id", lambda m: bool(m.source_dataset_id), "is required", "REQUIRED_FIELD"
    ),
]


def batch_model_rules(base: model_pb2.Model) -> list[AnyRule]:
    """Checks that need the base model the request resolved to."""
    limit = base.output_token_limit
    return [
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
