"""TunedModelService's rule sets: the tuned model's own fields, its tuning task (on create),
the requested id, and which fields an update may change.

A tuning run is bounded before it starts: at most MAX_EPOCHS epochs, batches of at most
MAX_BATCH_SIZE examples, a finite learning rate, and at most MAX_TUNING_STEPS steps in all
(ceil(examples / batch_size) per epoch, with the defaults below filled in as the job fills
them). Upstream documents the defaults, not these ceilings; they are this server's choice.
"""

from __future__ import annotations

import math

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
from textgen.v1 import tuned_model_pb2

TUNED_DISPLAY_NAME_MAX = 40

# The hyperparameter defaults upstream documents: 5 epochs; a batch of 4 examples, or 16 for a
# larger dataset; a learning rate of 0.001, or 0.0002 for a larger dataset.
DEFAULT_EPOCHS = 5
SMALL_DATASET_EXAMPLES = 500
SMALL_BATCH, LARGE_BATCH = 4, 16
SMALL_RATE, LARGE_RATE = 0.001, 0.0002
# This server's ceilings on one tuning run.
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 1024
MAX_TUNING_STEPS = 10_000


def tuning_steps(examples: int, epochs: int, batch_size: int) -> int:
    """ceil(examples / batch_size) steps per epoch, times epochs."""
    return math.ceil(examples / batch_size) * epochs


def _planned_steps(model: tuned_model_pb2.TunedModel) -> int:
    """The steps a tuned model's task asks for, with unset hyperparameters defaulted."""
    task = model.tuning_task
    hyper = task.hyperparameters
    examples = len(task.training_data.examples.examples)
    small = examples <= SMALL_DATASET_EXAMPLES
    epochs = hyper.epoch_count if hyper.epoch_count > 0 else DEFAULT_EPOCHS
    batch = hyper.batch_size if hyper.batch_size > 0 else SMALL_BATCH if small else LARGE_BATCH
    return tuning_steps(examples, epochs, batch)


def _steps_message(model: tuned_model_pb2.TunedModel) -> str:
    return (
        f"makes {_planned_steps(model)} tuning steps (ceil(examples / batch_size) x "
        f"epoch_count); at most {MAX_TUNING_STEPS} are allowed"
    )


def _finite(value: float) -> bool:
    return math.isfinite(value)


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
    Rule(
        "tuning_task.hyperparameters.epoch_count",
        between(1, MAX_EPOCHS),
        f"must be between 1 and {MAX_EPOCHS}",
    ),
    Rule(
        "tuning_task.hyperparameters.batch_size",
        between(1, MAX_BATCH_SIZE),
        f"must be between 1 and {MAX_BATCH_SIZE}",
    ),
    Rule("tuning_task.hyperparameters.learning_rate", above(0), "must be greater than 0"),
    Rule("tuning_task.hyperparameters.learning_rate", _finite, "must be a finite number"),
    Rule(
        "tuning_task.hyperparameters.learning_rate_multiplier", above(0), "must be greater than 0"
    ),
    Rule(
        "tuning_task.hyperparameters.learning_rate_multiplier",
        _finite,
        "must be a finite number",
    ),
    CrossRule(
        "tuning_task.hyperparameters",
        lambda model: _planned_steps(model) <= MAX_TUNING_STEPS,
        f"makes more than {MAX_TUNING_STEPS} tuning steps",
        describe=_steps_message,
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
