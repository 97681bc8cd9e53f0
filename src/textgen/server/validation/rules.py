"""Request validation as data: rules of (field path, check, message), shared by every servicer.

A `Rule` names a field by its path relative to the checked message (`temperature`,
`tuning_task.hyperparameters.epoch_count`); `[]` after a repeated field applies the rest
of the path to each element and reports the index (`safety_settings[2].category`). A rule
is skipped when its field is absent (an unset optional scalar or message), unless
`required`. A `CrossRule` checks the whole message, for rules that relate fields.

Syntactic rules run before any lookup; the few that need the model (output_token_limit,
max_temperature, supported methods, prompt size) are built from it after the lookup.

    ensure(violations(request, TEXT_SAMPLING_RULES), name_violations(request.model, "model"))
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from typing import Any, cast

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from textgen._protobuf import is_repeated
from textgen.server.rpc.errors import FieldViolation, invalid_argument
from textgen.v1 import model_pb2, safety_pb2

Check = Callable[[Any], bool]

MAX_CANDIDATES = 8
MAX_STOP_SEQUENCES = 5
MAX_BATCH_EMBED = 100
TEXT_MAX_TEMPERATURE = 1.0
CONTENT_MAX_TEMPERATURE = 2.0
TUNED_DISPLAY_NAME_MAX = 40
DATASET_DISPLAY_NAME_MAX = 256
DATASET_DESCRIPTION_MAX = 1024
DATASET_MAX_ROWS = 1000

BASE_MODEL_NAME = re.compile(r"models/[A-Za-z0-9][A-Za-z0-9._-]*")
TUNED_MODEL_ID = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")
TUNED_MODEL_NAME = re.compile(r"tunedModels/" + TUNED_MODEL_ID.pattern)
DATASET_ID = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
DATASET_NAME = re.compile(r"datasets/" + DATASET_ID.pattern)

RESPONSE_MIME_TYPES = frozenset({"", "text/plain", "application/json"})

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


# --- checks -------------------------------------------------------------------------


def between(low: float, high: float) -> Check:
    """low <= value <= high."""
    return lambda value: low <= value <= high


def at_least(low: float) -> Check:
    """value >= low."""
    return lambda value: value >= low


def at_most(high: float) -> Check:
    """value <= high."""
    return lambda value: value <= high


def above(low: float) -> Check:
    """value > low."""
    return lambda value: value > low


def count_between(low: int, high: int) -> Check:
    """low <= len(value) <= high."""
    return lambda value: low <= len(value) <= high


def full_match(pattern: re.Pattern[str]) -> Check:
    """The whole value matches the pattern."""
    return lambda value: pattern.fullmatch(value) is not None


def is_set(_: object) -> bool:
    """Any present value passes; pair with required=True to demand a field."""
    return True


def non_empty(value: Sized) -> bool:
    """The value has a length above zero."""
    return len(value) > 0


# --- rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One field-level rule: the field's path, a check on its value and why it failed."""

    field: str
    check: Check
    message: str
    required: bool = False
    reason: str = "INVALID_FIELD"
    # The path split into its segments once, for the walks of every call.
    segments: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.field.split(".")))

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        """A violation for each value at the path that fails the check."""
        step = _step(message.DESCRIPTOR, self.segments[0])
        if step is None:
            return []
        name, each, optional = step
        if each or len(self.segments) > 1:
            return self._walked(message, prefix)
        # A field of the message itself (most rules): checked without a walk.
        if optional and not message.HasField(name):
            return [self._absent(_join(prefix, name))] if self.required else []
        if self.check(getattr(message, name)):
            return []
        return [FieldViolation(_join(prefix, name), self.message, self.reason)]

    def _walked(self, message: Message, prefix: str) -> list[FieldViolation]:
        found: list[FieldViolation] = []
        for path, present, value in _walk(message, self.segments, prefix):
            if not present:
                if self.required:
                    found.append(self._absent(path))
            elif not self.check(value):
                found.append(FieldViolation(path, self.message, self.reason))
        return found

    def _absent(self, path: str) -> FieldViolation:
        return FieldViolation(path, self.message, "REQUIRED_FIELD")


@dataclass(frozen=True)
class CrossRule:
    """A rule over the whole message, reported on `field` (relations between fields)."""

    field: str
    check: Callable[[Any], bool]
    message: str
    reason: str = "INVALID_FIELD"

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        """One violation when the check fails."""
        if self.check(message):
            return []
        return [FieldViolation(_join(prefix, self.field), self.message, self.reason)]


AnyRule = Rule | CrossRule


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


def _walk(
    message: Message, segments: tuple[str, ...], prefix: str
) -> Iterator[tuple[str, bool, Any]]:
    # Yields (path, present, value) for every value the segments reach. A rule whose first
    # segment the message does not have is skipped, so one rule set can serve requests that
    # share most fields (GenerateText and GenerateMessage, say).
    step = _step(message.DESCRIPTOR, segments[0])
    if step is None:
        return
    name, each, optional = step
    rest = segments[1:]
    path = _join(prefix, name)
    if optional and not message.HasField(name):
        yield path, False, None
        return
    value = getattr(message, name)
    if each:
        for index, item in enumerate(value):
            if rest:
                yield from _walk(item, rest, f"{path}[{index}]")
            else:
                yield f"{path}[{index}]", True, item
    elif rest:
        yield from _walk(value, rest, path)
    else:
        yield path, True, value


@functools.cache
def _step(descriptor: Descriptor, segment: str) -> tuple[str, bool, bool] | None:
    """For one path segment on one message type (worked out once): the field's name, whether
    the segment applies to each element (`[]`), and whether the field can be unset; None
    when the message has no such field."""
    each = segment.endswith("[]")
    name = segment[:-2] if each else segment
    field = descriptor.fields_by_name.get(name)
    if field is None:
        return None
    return name, each, not is_repeated(field) and field.has_presence


def violations(
    message: Message, rules: Iterable[AnyRule], prefix: str = ""
) -> list[FieldViolation]:
    """Every violation of the rules in the message; paths are prefixed with `prefix`."""
    if not isinstance(rules, list | tuple):
        return [found for rule in rules for found in rule.violations(message, prefix)]
    found: list[FieldViolation] = []
    for field, rule in _plan(_descriptor(message), rules):
        if field is None or message.HasField(field):
            found.extend(rule.violations(message, prefix))
    return found


# The rules of a list that apply to one message type, in order, each with the field whose
# being unset leaves the rule nothing to check (None: always run it).
Plan = list[tuple[str | None, AnyRule]]
# (message type, id of a rule list) -> (that list, its plan); the list is held so that its id
# is not reused while the entry lives.
_PLANS: dict[tuple[Descriptor, int], tuple[Sequence[AnyRule], Plan]] = {}
_PLANS_KEPT = 512


def _descriptor(message: Message) -> Descriptor:
    # Newer typing stubs give DESCRIPTOR a union of the C and Python descriptor classes;
    # both offer what a plan reads.
    found: Any = message.DESCRIPTOR
    return cast("Descriptor", found)


def _plan(descriptor: Descriptor, rules: Sequence[AnyRule]) -> Plan:
    """The Plan of `rules` for a message type, worked out once per type and rule list."""
    key = (descriptor, id(rules))
    known = _PLANS.get(key)
    if known is not None and known[0] is rules:
        return known[1]
    plan: Plan = []
    for rule in rules:
        if isinstance(rule, CrossRule):
            plan.append((None, rule))
            continue
        step = _step(descriptor, rule.segments[0])
        if step is None:
            continue  # the message has no such field
        name, _, optional = step
        plan.append((name if optional and not rule.required else None, rule))
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.clear()
    _PLANS[key] = (rules, plan)
    return plan


def ensure(*groups: Iterable[FieldViolation]) -> None:
    """Raise INVALID_ARGUMENT naming every violation in the groups, if there is any."""
    found = [violation for group in groups for violation in group]
    if found:
        raise invalid_argument(found)


def validate(message: Message, rules: Iterable[AnyRule], prefix: str = "") -> None:
    """ensure(violations(message, rules, prefix))."""
    ensure(violations(message, rules, prefix))


# --- rule sets --------------------------------------------------------------------------


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
            "must be text/plain or application/json",
        ),
    ]


TEXT_SAMPLING_RULES = sampling_rules(TEXT_MAX_TEMPERATURE)
CONTENT_SAMPLING_RULES = sampling_rules(CONTENT_MAX_TEMPERATURE)  # under generation_config


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


TUNED_MODEL_RULES: list[AnyRule] = [  # checked under the `tuned_model` prefix
    Rule(
        "display_name",
        lambda v: len(v) <= TUNED_DISPLAY_NAME_MAX,
        f"must be at most {TUNED_DISPLAY_NAME_MAX} characters",
    ),
    Rule("temperature", between(0, 1), "must be between 0 and 1"),
    Rule("top_p", between(0, 1), "must be between 0 and 1"),
    Rule("top_k", at_least(1), "must be at least 1"),
]

TUNING_TASK_RULES: list[AnyRule] = [  # checked under `tuned_model`, on create only
    Rule(
        "tuning_task.training_data.examples.examples",
        non_empty,
        "at least one training example is required",
        required=True,
    ),
    Rule("tuning_task.training_data.examples.examples[].output", non_empty, "must not be empty"),
    Rule("tuning_task.hyperparameters.epoch_count", at_least(1), "must be at least 1"),
    Rule("tuning_task.hyperparameters.batch_size", at_least(1), "must be at least 1"),
    Rule("tuning_task.hyperparameters.learning_rate", above(0), "must be greater than 0"),
    Rule(
        "tuning_task.hyperparameters.learning_rate_multiplier", above(0), "must be greater than 0"
    ),
    CrossRule(
        "base_model",
        lambda m: m.WhichOneof("source_model") is not None,
        "a base_model or a tuned_model_source is required",
        "REQUIRED_FIELD",
    ),
]

CREATE_TUNED_MODEL_RULES: list[AnyRule] = [
    Rule(
        "tuned_model_id",
        lambda v: v == "" or TUNED_MODEL_ID.fullmatch(v) is not None,
        f"must match {TUNED_MODEL_ID.pattern}",
    ),
    Rule("tuned_model", is_set, "is required", required=True),
]

UPDATABLE_TUNED_MODEL_FIELDS = frozenset(
    {"display_name", "description", "temperature", "top_p", "top_k", "reader_project_numbers"}
)

DATASET_RULES: list[AnyRule] = [  # checked under the `dataset` prefix
    Rule(
        "display_name",
        lambda v: len(v) <= DATASET_DISPLAY_NAME_MAX,
        f"must be at most {DATASET_DISPLAY_NAME_MAX} characters",
    ),
    Rule(
        "description",
        lambda v: len(v) <= DATASET_DESCRIPTION_MAX,
        f"must be at most {DATASET_DESCRIPTION_MAX} characters",
    ),
]

DATASET_ID_RULE = Rule(
    "dataset_id",
    lambda v: v == "" or DATASET_ID.fullmatch(v) is not None,
    f"must match {DATASET_ID.pattern}",
)

ROW_RULES: list[AnyRule] = [  # `rows` of CreateDatasetRequest or UploadDatasetChunk
    Rule("rows[]", lambda row: row.WhichOneof("prompt") is not None, "needs text or messages"),
    Rule("rows[].messages.messages", non_empty, "must hold at least one message"),
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

BATCH_EMBED_CONTENTS_RULES: list[AnyRule] = [
    Rule(
        "requests",
        count_between(1, MAX_BATCH_EMBED),
        f"between 1 and {MAX_BATCH_EMBED} requests are required",
    ),
    Rule("requests[].output_dimensionality", at_least(1), "must be at least 1"),
]


# --- helpers that are not a single field check -------------------------------------------


def name_violations(
    name: str, field: str, patterns: Sequence[re.Pattern[str]], expected: str
) -> list[FieldViolation]:
    """A violation when `name` matches none of the patterns (`expected` says what fits)."""
    if any(pattern.fullmatch(name) for pattern in patterns):
        return []
    return [FieldViolation(field, f"must be {expected}, got {name!r}")]


def model_name_violations(
    name: str, field: str = "model", *, tuned: bool = True
) -> list[FieldViolation]:
    """`models/{model}`, or also `tunedModels/{tuned_model}` when `tuned`."""
    if tuned:
        return name_violations(
            name,
            field,
            [BASE_MODEL_NAME, TUNED_MODEL_NAME],
            "`models/{model}` or `tunedModels/{tuned_model}`",
        )
    return name_violations(name, field, [BASE_MODEL_NAME], "`models/{model}`")


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


def update_mask_violations(
    paths: Sequence[str], allowed: Collection[str], field: str = "update_mask"
) -> list[FieldViolation]:
    """The mask must name at least one field and only fields in `allowed`."""
    if not paths:
        return [
            FieldViolation(field, "is required and must name at least one field", "REQUIRED_FIELD")
        ]
    return [
        FieldViolation(f"{field}.paths[{index}]", f"{path!r} cannot be updated")
        for index, path in enumerate(paths)
        if path not in allowed
    ]
