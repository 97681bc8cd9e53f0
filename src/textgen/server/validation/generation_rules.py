"""ModelService's rule sets: sampling, prompts and contents, JSON Schema documents, token
counting and embeddings, with the checks that need the resolved model (its limits and
supported methods)."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence

from google.protobuf import struct_pb2

from textgen.server.rpc.errors import FieldViolation, invalid_argument
from textgen.server.validation.rules import (
    AnyRule,
    CrossRule,
    Fault,
    Rule,
    TreeRule,
    at_least,
    at_most,
    between,
    count_between,
    is_set,
    non_empty,
)
from textgen.server.validation.schema_limits import document_faults, schema_faults
from textgen.v1 import generation_pb2, message_pb2, model_pb2, safety_pb2

MAX_CANDIDATES = 8
MAX_LOGPROBS = 20  # top alternatives per token, as upstream allows
MAX_TEXT_LOGPROBS = 5  # the same for GenerateText, as Vertex AI's text models allow
MAX_PENALTY = 2.0  # presence and frequency penalties lie in [-2.0, 2.0)
MAX_LOGIT_BIAS = 100.0  # each bias lies in [-100, 100]
MAX_LOGIT_BIAS_ENTRIES = 100
MAX_STOP_SEQUENCES = 5
MAX_BATCH_EMBED = 100
TEXT_MAX_TEMPERATURE = 1.0
CONTENT_MAX_TEMPERATURE = 2.0

JSON_MIME_TYPE = "application/json"
TEXT_MIME_TYPE = "text/plain"
# The answer is one of the values the response schema enumerates, as plain text.
ENUM_MIME_TYPE = "text/x.enum"
RESPONSE_MIME_TYPES = frozenset({"", TEXT_MIME_TYPE, JSON_MIME_TYPE, ENUM_MIME_TYPE})

# RPC -> the REST method names (Model.supported_generation_methods) that allow it.
REQUIRED_METHODS: dict[str, tuple[str, ...]] = {
    "GenerateText": ("generateText",),
    "StreamGenerateText": ("generateText",),
    "CountTextTokens": ("countTextTokens",),
    "GenerateMessage": ("generateMessage",),
    "CountMessageTokens": ("countMessageTokens",),
    "EmbedText": ("embedText",),
    "BatchEmbedText": ("batchEmbedText", "embedText"),
    "GenerateContent": ("generateContent",),
    "StreamGenerateContent": ("generateContent",),
    "CountTokens": ("countTokens",),
    "EmbedContent": ("embedContent",),
    "BatchEmbedContents": ("batchEmbedContents", "embedContent"),
    "CreateTunedModel": ("createTunedModel",),
}


def sampling_rules(max_temperature: float) -> list[AnyRule]:
    """Sampling ranges shared by GenerateText, GenerateMessage and GenerationConfig."""
    return [
        Rule(
            "temperature", between(0, max_temperature), f"must be between 0 and {max_temperature:g}"
        ),
        Rule("top_p", between(0, 1), "must be between 0 and 1"),
        Rule("top_k", at_least(1), "must be at least 1"),
        Rule(
            "candidate_count", between(1, MAX_CANDIDATES), f"must be between 1 and {MAX_CANDIDATES}"
        ),
        Rule("max_output_tokens", at_least(1), "must be at least 1"),
        Rule(
            "stop_sequences",
            count_between(0, MAX_STOP_SEQUENCES),
            f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed",
        ),
        Rule(
            "response_mime_type",
            lambda v: v in RESPONSE_MIME_TYPES,
            f"must be {TEXT_MIME_TYPE}, {JSON_MIME_TYPE} or {ENUM_MIME_TYPE}",
        ),
        *(
            Rule(name, _penalty, f"must be at least -{MAX_PENALTY:g} and less than {MAX_PENALTY:g}")
            for name in ("presence_penalty", "frequency_penalty")
        ),
    ]


def _penalty(value: float) -> bool:
    # False for NaN too, which compares false with everything.
    return -MAX_PENALTY <= value < MAX_PENALTY


def logit_bias_faults(bias: Mapping[str, float]) -> list[Fault]:
    """Too many entries, an empty token, or a bias outside [-100, 100] (NaN included); a
    token's fault sits at `["token"]` below the field."""
    if len(bias) > MAX_LOGIT_BIAS_ENTRIES:
        return [("", f"at most {MAX_LOGIT_BIAS_ENTRIES} tokens may be biased, not {len(bias)}")]
    found: list[Fault] = []
    for token, value in sorted(bias.items()):
        where = f"[{json.dumps(token)}]"
        if not token:
            found.append((where, "a biased token must not be empty"))
        elif not -MAX_LOGIT_BIAS <= value <= MAX_LOGIT_BIAS:
            found.append(
                (where, f"must be between -{MAX_LOGIT_BIAS:g} and {MAX_LOGIT_BIAS:g}, not {value}")
            )
    return found


def author_faults(messages: Sequence[message_pb2.Message]) -> list[Fault]:
    """Where a conversation stops alternating between two authors: a message by the same
    author as the one before it, or by a third author. Each fault is at `[i].author`."""
    found: list[Fault] = []
    authors: list[str] = []  # the two authors, in order of their first message
    for index in range(1, len(messages)):
        author, previous = messages[index].author, messages[index - 1].author
        if not authors:
            authors.append(previous)
        if author == previous:
            found.append(
                (
                    f"[{index}].author",
                    f"is {author!r} again: messages must alternate between two authors",
                )
            )
        elif author not in authors and len(authors) == 2:
            found.append(
                (
                    f"[{index}].author",
                    f"is a third author, {author!r}: messages alternate between "
                    f"{authors[0]!r} and {authors[1]!r}",
                )
            )
        elif author not in authors:
            authors.append(author)
    return found


# --- JSON Schema documents (google.protobuf.Value) ---------------------------------------


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


TEXT_SAMPLING_RULES = sampling_rules(TEXT_MAX_TEMPERATURE)
# Under generation_config.
CONTENT_SAMPLING_RULES = [
    *sampling_rules(CONTENT_MAX_TEMPERATURE),
    Rule("logprobs", between(0, MAX_LOGPROBS), f"must be between 0 and {MAX_LOGPROBS}"),
    TreeRule("response_schema", schema_faults),
    *RESPONSE_JSON_SCHEMA_RULES,
    ENUM_ANSWER_RULE,
]

# GenerateText, StreamGenerateText and CountTextTokens.
TEXT_RULES: list[AnyRule] = [
    *TEXT_SAMPLING_RULES,
    Rule("logprobs", between(0, MAX_TEXT_LOGPROBS), f"must be between 0 and {MAX_TEXT_LOGPROBS}"),
    TreeRule("logit_bias", logit_bias_faults),
    Rule("prompt", is_set, "is required", required=True),
    Rule("prompt.text", non_empty, "must not be empty"),
]
# GenerateMessage and CountMessageTokens.
MESSAGE_RULES: list[AnyRule] = [
    *TEXT_SAMPLING_RULES,
    Rule("prompt", is_set, "is required", required=True),
    Rule("prompt.messages", non_empty, "at least one message is required"),
    Rule("prompt.messages[].content", non_empty, "must not be empty"),
    TreeRule("prompt.messages", author_faults),
]


# GenerateContent and StreamGenerateContent (their generation_config takes
# CONTENT_SAMPLING_RULES), and CountTokens' generate_content_request.
CONTENT_RULES: list[AnyRule] = [
    Rule("contents", non_empty, "at least one content is required"),
    Rule("contents[].parts", non_empty, "must hold at least one part"),
    Rule(
        "system_instruction.parts[]",
        lambda part: part.WhichOneof("data") == "text",
        "only text parts are allowed",
    ),
    Rule("cached_content", lambda _: False, "this server keeps no cached content"),
    *FUNCTION_JSON_SCHEMA_RULES,
    *FUNCTION_PART_RULES,
]
COUNT_TOKENS_RULES: list[AnyRule] = [
    CrossRule(
        "contents",
        lambda m: not (m.contents and m.HasField("generate_content_request")),
        "set either contents or generate_content_request, not both",
    ),
    *FUNCTION_PART_RULES,
]

BATCH_EMBED_TEXT_RULES: list[AnyRule] = [
    Rule(
        "texts", count_between(0, MAX_BATCH_EMBED), f"at most {MAX_BATCH_EMBED} texts are allowed"
    ),
    Rule(
        "requests",
        count_between(0, MAX_BATCH_EMBED),
        f"at most {MAX_BATCH_EMBED} requests are allowed",
    ),
    CrossRule(
        "requests",
        lambda m: not (m.texts and m.requests),
        "set either texts or requests, not both",
    ),
    CrossRule("texts", lambda m: bool(m.texts or m.requests), "texts or requests are required"),
]
# EmbedContent, and each request of BatchEmbedContents.
EMBED_CONTENT_RULES: list[AnyRule] = [
    Rule("content", is_set, "is required", required=True),
    Rule("output_dimensionality", at_least(1), "must be at least 1"),
]
BATCH_EMBED_CONTENTS_RULES: list[AnyRule] = [
    Rule(
        "requests",
        count_between(1, MAX_BATCH_EMBED),
        f"between 1 and {MAX_BATCH_EMBED} requests are required",
    ),
    Rule("requests[].output_dimensionality", at_least(1), "must be at least 1"),
]


# --- checks that need the model, or that are not a single rule ----------------------------


def model_limit_rules(model: model_pb2.Model, *, content: bool) -> list[AnyRule]:
    """Rules that need the resolved base model: output length and (content) temperature."""
    rules: list[AnyRule] = [
        Rule(
            "max_output_tokens",
            at_most(model.output_token_limit),
            f"must be at most the model's output_token_limit ({model.output_token_limit})",
        )
    ]
    if content and model.HasField("max_temperature"):
        rules.append(
            Rule(
                "temperature",
                at_most(model.max_temperature),
                f"must be at most the model's max_temperature ({model.max_temperature:g})",
            )
        )
    return rules


def safety_setting_violations(
    settings: Sequence[safety_pb2.SafetySetting],
    allowed: Collection[int],
    field: str = "safety_settings",
) -> list[FieldViolation]:
    """Categories outside `allowed`, and a second setting for a category already set."""
    found: list[FieldViolation] = []
    seen: set[int] = set()
    for index, setting in enumerate(settings):
        path = f"{field}[{index}].category"
        if setting.category not in allowed:
            found.append(FieldViolation(path, "is not a harm category this method accepts"))
        elif setting.category in seen:
            found.append(FieldViolation(path, "appears more than once"))
        seen.add(setting.category)
    return found


def require_method(model: model_pb2.Model, rpc: str, field: str = "model") -> None:
    """INVALID_ARGUMENT on `field` when the model does not support the RPC.

    The request names a model that cannot serve this method, which the caller fixes by
    changing the argument, so this is INVALID_ARGUMENT rather than FAILED_PRECONDITION.
    """
    accepted = REQUIRED_METHODS[rpc]
    supported = model.supported_generation_methods
    if not any(method in supported for method in accepted):
        raise invalid_argument(
            [
                FieldViolation(
                    field,
                    f"{model.name} does not support {accepted[0]}",
                    "UNSUPPORTED_METHOD",
                )
            ]
        )


def prompt_size_violations(
    token_count: int, model: model_pb2.Model, field: str
) -> list[FieldViolation]:
    """A violation when the prompt takes more than the model's input_token_limit."""
    if model.input_token_limit and token_count > model.input_token_limit:
        return [
            FieldViolation(
                field,
                f"takes {token_count} tokens, more than the model's input_token_limit "
                f"({model.input_token_limit})",
                "PROMPT_TOO_LONG",
            )
        ]
    return []
