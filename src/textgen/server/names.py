"""Resource names: each kind's type, name pattern and id syntax, and the helpers that build,
take apart and check names. Every server module that handles a name does it through here.

The types and patterns are copies of the contract's `google.api.resource` annotations
(tests/server/test_names.py holds them to it); the id syntax is what this server accepts
for an id a caller chooses. Operations have no such annotation: a batch task's operation is
`operations/{op}`, a tuning job's `tunedModels/{tuned_model}/operations/{op}`.
"""

from __future__ import annotations

import re

from textgen.server.rpc.errors import FieldViolation

# The length of an id the server makes up (tuned models, datasets, operations, batch tasks).
GENERATED_ID_LENGTH = 12
# The longest ids a caller may choose.
TUNED_MODEL_ID_MAX = 40
DATASET_ID_MAX = 63

OPERATION_TYPE = "google.longrunning.Operation"
OPERATIONS = "operations"


class ResourceKind:
    """One kind of named resource: `type` and `pattern` as the contract declares them, and
    the syntax its ids must have."""

    __slots__ = ("_id_pattern", "_name_pattern", "collection", "id_syntax", "pattern", "type")

    def __init__(self, type_: str, pattern: str, id_syntax: str) -> None:
        self.type = type_
        self.pattern = pattern
        # The part of every name before the id, such as "tunedModels/".
        self.collection = pattern.split("{", 1)[0]
        # The regular expression an id must match in full.
        self.id_syntax = id_syntax
        # Compiled on first use: importing the server stays cheap.
        self._id_pattern: re.Pattern[str] | None = None
        self._name_pattern: re.Pattern[str] | None = None

    def name(self, resource_id: str) -> str:
        """The resource name for an id."""
        return self.collection + resource_id

    def id_of(self, name: str) -> str:
        """The id at the end of a name of this kind."""
        return name.removeprefix(self.collection)

    def in_collection(self, name: str) -> bool:
        """Whether the name starts like a name of this kind (its syntax is not checked)."""
        return name.startswith(self.collection)

    def is_valid_id(self, resource_id: str) -> bool:
        """Whether a caller may choose this id."""
        if self._id_pattern is None:
            self._id_pattern = re.compile(self.id_syntax)
        return self._id_pattern.fullmatch(resource_id) is not None

    def is_valid_name(self, name: str) -> bool:
        """Whether the whole name has this kind's syntax."""
        if self._name_pattern is None:
            self._name_pattern = re.compile(re.escape(self.collection) + self.id_syntax)
        return self._name_pattern.fullmatch(name) is not None

    def __repr__(self) -> str:
        return f"ResourceKind({self.type!r}, {self.pattern!r})"


MODEL = ResourceKind("textgen.dev/Model", "models/{model}", r"[A-Za-z0-9][A-Za-z0-9._-]*")
TUNED_MODEL = ResourceKind(
    "textgen.dev/TunedModel",
    "tunedModels/{tuned_model}",
    rf"[a-z]([a-z0-9-]{{0,{TUNED_MODEL_ID_MAX - 2}}}[a-z0-9])?",
)
DATASET = ResourceKind(
    "textgen.dev/Dataset",
    "datasets/{dataset}",
    rf"[a-z]([a-z0-9-]{{0,{DATASET_ID_MAX - 2}}}[a-z0-9])?",
)


def batch_operation_name(task_id: str) -> str:
    """The operation of a batch task: `operations/{task_id}`."""
    return f"{OPERATIONS}/{task_id}"


def tuning_operation_name(tuned_model_name: str, operation_id: str) -> str:
    """The operation of a tuning job, under its tuned model:
    `tunedModels/{tuned_model}/operations/{operation_id}`."""
    return f"{tuned_model_name}/{OPERATIONS}/{operation_id}"


def name_violations(name: str, field: str, *kinds: ResourceKind) -> list[FieldViolation]:
    """A violation on `field` when `name` is a valid name of none of the kinds."""
    if any(kind.is_valid_name(name) for kind in kinds):
        return []
    expected = " or ".join(f"`{kind.pattern}`" for kind in kinds)
    return [FieldViolation(field, f"must be {expected}, got {name!r}")]


def model_name_violations(
    name: str, field: str = "model", *, tuned: bool = True
) -> list[FieldViolation]:
    """`models/{model}`, or also `tunedModels/{tuned_model}` when `tuned`."""
    if tuned:
        return name_violations(name, field, MODEL, TUNED_MODEL)
    return name_violations(name, field, MODEL)
