"""TunedModelService's rule sets: the tuned model's own fields, its tuning task (on create),
the requested id, and which fields an update may change."""

from __future__ import annotations

from textgen.server.names import TUNED_MODEL
from textgen.server.validation.rules import (
    AnyRule,
    CrossRule,
    Rule,
    above,
    at_least,
    between,
    is_set,
    non_empty,
)

TUNED_DISPLAY_NAME_MAX = 40

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
        lambda v: v == "" or TUNED_MODEL.is_valid_id(v),
        f"must match {TUNED_MODEL.id_syntax}",
    ),
    Rule("tuned_model", is_set, "is required", required=True),
]

UPDATABLE_TUNED_MODEL_FIELDS = frozenset(
    {"display_name", "description", "temperature", "top_p", "top_k", "reader_project_numbers"}
)
