"""ModelService's rule sets: sampling, prompts and contents, token counting and embeddings,
with the checks that need the resolved model (its limits and supported methods). The rules
for JSON values and JSON Schema documents are json_rules'."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence

from textgen.server.rpc.errors import FieldViolation, invalid_argument
from textgen.server.validation.json_rules import (
    ENUM_ANSWER_RULE,
    ENUM_MIME_TYPE,
    FUNCTION_JSON_SCHEMA_RULES,
    FUNCTION_PART_RULES,
    JSON_MIME_TYPE,
    RESPONSE_JSON_SCHEMA_RULES,
    RESPONSE_MIME_TYPES,
    TEXT_MIME_TYPE,
)
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
from textgen.server.validation.schema_limits import schema_faults
from textgen.v1 import message_pb2, model_pb2, safety_pb2

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
    if not settings:  # most requests
        return []
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
