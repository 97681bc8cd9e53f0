"""Sampling settings from a request plus the resolved model's defaults -> SamplingParams.

GenerateTextRequest, GenerateMessageRequest and GenerationConfig share field names
(temperature, top_p, top_k, candidate_count, max_output_tokens, stop_sequences...), so one
function reads whichever of them the message has. The request's own value wins, then the
tuned model's default, then the base model's; max_output_tokens defaults to the model's
output_token_limit and candidate_count to 1. In GenerationConfig, response_logprobs with
logprobs (0 when unset) becomes SamplingParams.logprobs; GenerateTextRequest, which has no
response_logprobs, asks for them by setting logprobs alone. presence_penalty and
frequency_penalty default to 0, and logit_bias becomes (token, bias) pairs sorted by token.
The answer's schema, for the engine a JSON Schema
dict, comes from response_schema (a Schema) or from the JSON Schema document that
GenerationConfig may carry instead (response_json_schema, or response_json_schema_ordered).
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from textgen._kept import Kept
from textgen.server.engine import SamplingParams
from textgen.server.generation.resolution import ResolvedModel
from textgen.server.rpc.errors import FieldViolation
from textgen.server.validation import json_rules
from textgen.server.validation.generation_rules import model_limit_rules
from textgen.server.validation.plan import ensure, validate
from textgen.server.validation.rules import AnyRule
from textgen.server.validation.schema_limits import fewest_values, size_message
from textgen.v1 import content_pb2, model_pb2

FALLBACK_TEMPERATURE = 1.0
FALLBACK_TOP_P = 1.0
# Defined with the rules that accept them.
JSON_MIME_TYPE = json_rules.JSON_MIME_TYPE
TEXT_MIME_TYPE = json_rules.TEXT_MIME_TYPE


# Each field sampling_params reads, when the source message has it.
_SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "candidate_count",
    "max_output_tokens",
    "seed",
    "stop_sequences",
    "response_mime_type",
    "response_schema",
    "response_json_schema",
    "response_json_schema_ordered",
    "response_logprobs",
    "logprobs",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "thinking_config",
)
# GenerationConfig's two fields for a JSON Schema document; validation lets at most one be set.
_JSON_SCHEMA_FIELDS = ("response_json_schema", "response_json_schema_ordered")


@functools.cache
def _present_fields(descriptor: Descriptor) -> frozenset[str]:
    """Which of _SAMPLING_FIELDS a message type has (worked out once per type)."""
    return frozenset(name for name in _SAMPLING_FIELDS if name in descriptor.fields_by_name)


def _optional(message: Message | None, fields: frozenset[str], name: str) -> Any:  # noqa: ANN401 (proto scalar)
    if message is None or name not in fields:
        return None
    return getattr(message, name) if message.HasField(name) else None


# The model-limit rules of each model, built once; keyed by what they depend on.
_LIMIT_RULES: Kept[tuple[str, int, float | None, bool], list[AnyRule]] = Kept(256)


def _limit_rules(model: model_pb2.Model, *, content: bool) -> list[AnyRule]:
    max_temperature = model.max_temperature if model.HasField("max_temperature") else None
    key = (model.name, model.output_token_limit, max_temperature, content)
    rules = _LIMIT_RULES.get(key)
    if rules is None:
        rules = _LIMIT_RULES.keep(key, model_limit_rules(model, content=content))
    return rules


def sampling_params(
    resolved: ResolvedModel, source: Message | None, *, prefix: str = "", content: bool = False
) -> SamplingParams:
    """Check `source` against the model's limits, then fill every default from the model.

    `source` is the request (text/message) or its GenerationConfig (content, with
    prefix="generation_config"); None means every default.
    """
    fields: frozenset[str] = frozenset()
    if source is not None:
        fields = _present_fields(source.DESCRIPTOR)
        if not _sets_any(source, fields):
            return _defaults(resolved)
        validate(source, _limit_rules(resolved.base, content=content), prefix)
    temperature = _optional(source, fields, "temperature")
    top_p = _optional(source, fields, "top_p")
    top_k = _optional(source, fields, "top_k")
    candidate_count = _optional(source, fields, "candidate_count")
    max_output_tokens = _optional(source, fields, "max_output_tokens")
    stops = tuple(getattr(source, "stop_sequences", ())) if "stop_sequences" in fields else ()
    mime = getattr(source, "response_mime_type", "") if "response_mime_type" in fields else ""
    if max_output_tokens is None:
        max_output_tokens = resolved.base.output_token_limit
    schema = None
    if source is not None and "response_schema" in fields and source.HasField("response_schema"):
        schema = schema_to_json(source.response_schema)  # type: ignore[attr-defined]
        _check_size(schema, max_output_tokens, prefix, "response_schema")
    elif source is not None and "response_json_schema" in fields:
        schema = _json_schema(source)
        if schema is not None:
            _check_size(schema, max_output_tokens, prefix, _json_schema_field(source))
    return SamplingParams(
        temperature=_first(temperature, resolved.temperature, FALLBACK_TEMPERATURE),
        top_p=_first(top_p, resolved.top_p, FALLBACK_TOP_P),
        top_k=top_k if top_k is not None else resolved.top_k,
        candidate_count=candidate_count if candidate_count is not None else 1,
        max_output_tokens=max_output_tokens,
        stop_sequences=stops,
        seed=_optional(source, fields, "seed"),
        response_mime_type=mime or TEXT_MIME_TYPE,
        response_schema=schema,
        logprobs=_logprobs(source, fields),
        presence_penalty=_optional(source, fields, "presence_penalty") or 0.0,
        frequency_penalty=_optional(source, fields, "frequency_penalty") or 0.0,
        logit_bias=_logit_bias(source, fields),
        **_thinking(source, fields),
    )


def _check_size(schema: dict[str, Any], cap: int, prefix: str, field: str) -> None:
    """INVALID_ARGUMENT on the schema's field when the fewest values an answer to it holds
    exceed max_output_tokens (each value takes at least one token)."""
    if fewest_values(schema, cap) > cap:
        path = f"{prefix}.{field}" if prefix else field
        ensure([FieldViolation(path, size_message(cap, "max_output_tokens"))])


def _json_schema_field(source: Message) -> str:
    """Which of GenerationConfig's JSON Schema fields is set."""
    return next((name for name in _JSON_SCHEMA_FIELDS if source.HasField(name)), "")


def _logprobs(source: Message | None, fields: frozenset[str]) -> int | None:
    """How many top alternatives per token to report, when the request asks for log
    probabilities (GenerationConfig by response_logprobs, GenerateTextRequest by setting
    logprobs); None when it does not."""
    top: int | None = _optional(source, fields, "logprobs")
    if "response_logprobs" not in fields:
        return top
    if not getattr(source, "response_logprobs", False):
        return None
    return top or 0


def _logit_bias(source: Message | None, fields: frozenset[str]) -> tuple[tuple[str, float], ...]:
    """The request's logit_bias as (token, bias) pairs sorted by token; () when unset."""
    if source is None or "logit_bias" not in fields:
        return ()
    bias: Any = source.logit_bias  # type: ignore[attr-defined]
    return tuple(sorted(bias.items()))


def _thinking(source: Message | None, fields: frozenset[str]) -> dict[str, Any]:
    """thinking_budget and include_thoughts from GenerationConfig.thinking_config; nothing
    when the request has none (no budget: the model's choice)."""
    config = _optional(source, fields, "thinking_config")
    if config is None:
        return {}
    budget = config.thinking_budget if config.HasField("thinking_budget") else None
    return {"thinking_budget": budget, "include_thoughts": config.include_thoughts}


def _sets_any(source: Message, fields: frozenset[str]) -> bool:
    """Whether `source` sets any of `fields` (ListFields names only the fields set)."""
    # A list, not a generator: a request sets few fields, and a generator costs more.
    return any([field.name in fields for field, _ in source.ListFields()])


# id of a resolved base model -> (that model, its defaults); the model is held so that its id
# is not reused while the entry lives. The resolver hands out one ResolvedModel per base model
# and RPC, so this stays small; a tuned model's is built per call and not kept.
_DEFAULTS: Kept[int, tuple[ResolvedModel, SamplingParams]] = Kept(256)


def _defaults(resolved: ResolvedModel) -> SamplingParams:
    """What sampling_params answers for a source that sets none of its fields: every value
    from the model (the limit rules check only fields that are set, so none can fail).
    SamplingParams is frozen, so one answer serves every such request for a base model."""
    known = _DEFAULTS.get(id(resolved))
    if known is not None and known[0] is resolved:
        return known[1]
    params = SamplingParams(
        temperature=_first(resolved.temperature, FALLBACK_TEMPERATURE),
        top_p=_first(resolved.top_p, FALLBACK_TOP_P),
        top_k=resolved.top_k,
        candidate_count=1,
        max_output_tokens=resolved.base.output_token_limit,
        response_mime_type=TEXT_MIME_TYPE,
    )
    if resolved.tuned is None:
        _DEFAULTS.keep(id(resolved), (resolved, params))
    return params


def _json_schema(source: Message) -> dict[str, Any] | None:
    """The JSON Schema document a GenerationConfig carries, as a dict; None when it carries
    none, or when the document is not an object (`true` accepts any JSON value)."""
    for name in _JSON_SCHEMA_FIELDS:
        if source.HasField(name):
            document: struct_pb2.Value = getattr(source, name)
            if document.WhichOneof("kind") != "struct_value":
                return None
            from google.protobuf import json_format  # noqa: PLC0415 (only for such requests)

            found: dict[str, Any] = json_format.MessageToDict(document.struct_value)
            return found
    return None


def _first(*values: float | None) -> float:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")


_TYPES = {
    content_pb2.STRING: "string",
    content_pb2.NUMBER: "number",
    content_pb2.INTEGER: "integer",
    content_pb2.BOOLEAN: "boolean",
    content_pb2.ARRAY: "array",
    content_pb2.OBJECT: "object",
    content_pb2.NULL: "null",
}


def schema_to_json(schema: content_pb2.Schema) -> dict[str, Any]:
    """The JSON Schema object equivalent to a response Schema proto."""
    out: dict[str, Any] = {}
    if schema.type in _TYPES:
        kind = _TYPES[schema.type]
        out["type"] = [kind, "null"] if schema.nullable else kind
    for name in ("format", "title", "description", "pattern"):
        if getattr(schema, name):
            out[name] = getattr(schema, name)
    if schema.enum:
        out["enum"] = list(schema.enum)
    if schema.HasField("items"):
        out["items"] = schema_to_json(schema.items)
    if schema.properties:
        out["properties"] = {k: schema_to_json(v) for k, v in schema.properties.items()}
    if schema.required:
        out["required"] = list(schema.required)
    if schema.any_of:
        out["anyOf"] = [schema_to_json(option) for option in schema.any_of]
    for name, key in (
        ("max_items", "maxItems"),
        ("min_items", "minItems"),
        ("min_properties", "minProperties"),
        ("max_properties", "maxProperties"),
        ("min_length", "minLength"),
        ("max_length", "maxLength"),
    ):
        if getattr(schema, name):
            out[key] = getattr(schema, name)
    if schema.HasField("minimum"):
        out["minimum"] = schema.minimum
    if schema.HasField("maximum"):
        out["maximum"] = schema.maximum
    return out
