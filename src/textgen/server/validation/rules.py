"""The rule engine: request validation as data, rules of (field path, check, message).

A `Rule` names a field by its path relative to the checked message (`temperature`,
`tuning_task.hyperparameters.epoch_count`); `[]` after a repeated field applies the rest
of the path to each element and reports the index (`safety_settings[2].category`). A rule
is skipped when its field is absent (an unset optional scalar or message), unless
`required`. A `CrossRule` checks the whole message, for rules that relate fields; `within`
points it at nested messages instead (each FunctionDeclaration of each Tool, say). A
`TreeRule` looks inside a field's value (a Schema tree, a JSON document) and reports each
fault it finds at its own path below the field.

The rule sets live beside this module, one per service (`generation_rules`, `tuning_rules`,
`dataset_rules`, `batch_rules`), and validation.plan runs them (`violations`, `ensure`).
Syntactic rules run before any lookup; the few that need the model (output_token_limit,
max_temperature, supported methods, prompt size) are built from it after the lookup.

    ensure(violations(request, TEXT_RULES), model_name_violations(request.model))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence, Sized
from typing import Any, ClassVar

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from textgen._protobuf import is_repeated
from textgen.server.rpc.errors import FieldViolation

Check = Callable[[Any], bool]


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


def is_set(_: object) -> bool:
    """Any present value passes; pair with required=True to demand a field."""
    return True


def non_empty(value: Sized) -> bool:
    """The value has a length above zero."""
    return len(value) > 0


# --- rules ----------------------------------------------------------------------------


class Shown:
    """The rule classes' common part: a repr of the fields they were built with. They are
    plain slotted classes, not dataclasses: building a dataclass costs about half a
    millisecond, paid at every server start."""

    __slots__ = ()
    _shown: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


class Rule(Shown):
    """One field-level rule: the field's path, a check on its value and why it failed."""

    __slots__ = ("check", "field", "message", "reason", "required", "segments")
    _shown = ("field", "check", "message", "required", "reason")

    def __init__(
        self,
        field: str,
        check: Check,
        message: str,
        required: bool = False,
        reason: str = "INVALID_FIELD",
    ) -> None:
        self.field = field
        self.check = check
        self.message = message
        self.required = required
        self.reason = reason
        # The path split into its segments once, for the walks of every call.
        self.segments = tuple(field.split("."))

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        """A violation for each value at the path that fails the check."""
        step = field_step(message.DESCRIPTOR, self.segments[0])
        if step is None:
            return []
        name, each, optional = step
        if len(self.segments) > 1:
            # A path through single fields (`prompt.text`) needs no walk.
            if "[]" in self.field:
                return self._walked(message, prefix)
            return self._descended(message, prefix)
        if each:
            return self._walked(message, prefix)
        # A field of the message itself (most rules): checked without a walk.
        if optional and not message.HasField(name):
            return [self._absent(_join(prefix, name))] if self.required else []
        if self.check(getattr(message, name)):
            return []
        return [FieldViolation(_join(prefix, name), self.message, self.reason)]

    def bound(self, descriptor: Descriptor) -> Callable[[Message, str], list[FieldViolation]]:
        """`violations` for messages of one type, with the path's fields looked up now
        rather than at every call (a plan runs these). A path through lists keeps the walk."""
        if "[]" in self.field:
            return self.violations
        steps: list[tuple[str, bool]] = []
        current: Any = descriptor
        for segment in self.segments:
            step = None if current is None else field_step(current, segment)
            if step is None:
                return _nothing  # the message has no such field, as `violations` finds
            name, _, optional = step
            steps.append((name, optional))
            current = current.fields_by_name[name].message_type
        check, required = self.check, self.required
        failed = [FieldViolation(_join("", self.field), self.message, self.reason)]
        if len(steps) == 1:
            ((name, optional),) = steps
            absent = [self._absent(name)]

            def one(message: Message, prefix: str) -> list[FieldViolation]:
                if optional and not message.HasField(name):
                    if not required:
                        return []
                    return self._prefixed(absent, prefix)
                if check(getattr(message, name)):
                    return []
                return self._prefixed(failed, prefix)

            return one

        def descended(message: Message, prefix: str) -> list[FieldViolation]:
            value: Any = message
            for name, optional in steps:
                if optional and not value.HasField(name):
                    return self._descended(message, prefix) if required else []
                value = getattr(value, name)
            if check(value):
                return []
            return self._prefixed(failed, prefix)

        return descended

    def _prefixed(self, found: list[FieldViolation], prefix: str) -> list[FieldViolation]:
        # A violation worked out for an empty prefix, at `prefix` (a new list each time).
        if not prefix:
            return list(found)
        return [
            FieldViolation(_join(prefix, each.field), each.description, each.reason)
            for each in found
        ]

    def _walked(self, message: Message, prefix: str) -> list[FieldViolation]:
        found: list[FieldViolation] = []
        for path, present, value in walk(message, self.segments, prefix):
            if not present:
                if self.required:
                    found.append(self._absent(path))
            elif not self.check(value):
                found.append(FieldViolation(path, self.message, self.reason))
        return found

    def _descended(self, message: Message, prefix: str) -> list[FieldViolation]:
        # A path through single fields (`prompt.text`): one value at most, reached without
        # the generator `walk` needs for lists; the path is spelt only for a violation.
        value: Any = message
        for depth, segment in enumerate(self.segments):
            step = field_step(value.DESCRIPTOR, segment)
            if step is None:
                return []
            name, _, optional = step
            if optional and not value.HasField(name):
                if not self.required:
                    return []
                return [self._absent(_join(prefix, ".".join(self.segments[: depth + 1])))]
            value = getattr(value, name)
        if self.check(value):
            return []
        return [FieldViolation(_join(prefix, self.field), self.message, self.reason)]

    def _absent(self, path: str) -> FieldViolation:
        return FieldViolation(path, self.message, "REQUIRED_FIELD")


class CrossRule(Shown):
    """A rule over the whole message, reported on `field` (relations between fields).

    `within` (a path to nested messages, written like a Rule's path) hands the check each
    message the path reaches instead, and reports a failure on `field` under that message:
    `within="tools[].function_declarations[]"` with `field="parameters_json_schema"` checks
    every declaration and reports `tools[0].function_declarations[1].parameters_json_schema`.
    An unset message on the way leaves nothing to check, and neighbouring rules of a list
    with the same `within` share one walk.

    `when_set` declares that the check can fail only while `field` is set, so that a rule
    without `within` is skipped, unchecked, while the field is unset.

    `describe`, when given, words the failure from the checked message (to quote a limit
    or a count the message itself sets); `message` is used otherwise.
    """

    __slots__ = (
        "check",
        "describe",
        "field",
        "message",
        "reason",
        "segments",
        "when_set",
        "within",
    )
    _shown = ("field", "check", "message", "reason", "within", "when_set", "describe")

    def __init__(  # noqa: PLR0917  (the fields a rule set spells out)
        self,
        field: str,
        check: Callable[[Any], bool],
        message: str,
        reason: str = "INVALID_FIELD",
        within: str = "",
        when_set: bool = False,
        describe: Callable[[Any], str] | None = None,
    ) -> None:
        self.field = field
        self.check = check
        self.message = message
        self.reason = reason
        self.within = within
        self.when_set = when_set
        self.describe = describe
        # `within` split into its segments once.
        self.segments = tuple(within.split(".")) if within else ()

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        """A violation for each checked message that fails the check."""
        if not self.segments:
            if self.check(message):
                return []
            return [self.failure(prefix, message)]
        return [
            self.failure(path, nested)
            for path, present, nested in walk(message, self.segments, prefix)
            if present and not self.check(nested)
        ]

    def failure(self, path: str, checked: Any) -> FieldViolation:  # noqa: ANN401 (a message)
        """The violation reported when `checked`, found at `path`, fails the check."""
        text = self.message if self.describe is None else self.describe(checked)
        return FieldViolation(_join(path, self.field), text, self.reason)


# What a TreeRule's finder reports: a path below the field ("" for the field itself, or a
# suffix such as ".items.minimum") and why that value fails.
Fault = tuple[str, str]


class TreeRule(Shown):
    """A rule that looks inside the value at `field` (written like a Rule's path, so `[]`
    reaches every element) and reports each fault `find` names at the field's path plus the
    fault's own suffix. It is skipped while the field is unset."""

    __slots__ = ("field", "find", "reason", "segments")
    _shown = ("field", "find", "reason")
    required = False  # read by the plan, as it reads Rule's

    def __init__(
        self, field: str, find: Callable[[Any], Iterable[Fault]], reason: str = "INVALID_FIELD"
    ) -> None:
        self.field = field
        self.find = find
        self.reason = reason
        self.segments = tuple(field.split("."))

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        """A violation for each fault found in each value the path reaches."""
        return [
            FieldViolation(f"{path}{suffix}", text, self.reason)
            for path, present, value in walk(message, self.segments, prefix)
            if present
            for suffix, text in self.find(value)
        ]


AnyRule = Rule | CrossRule | TreeRule


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix and path else prefix or path


def walk(
    message: Message, segments: tuple[str, ...], prefix: str
) -> Iterator[tuple[str, bool, Any]]:
    """(path, present, value) for every value the segments reach."""
    # Yields (path, present, value) for every value the segments reach. A rule whose first
    # segment the message does not have is skipped, so one rule set can serve requests that
    # share most fields (GenerateText and GenerateMessage, say).
    step = field_step(message.DESCRIPTOR, segments[0])
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
                yield from walk(item, rest, f"{path}[{index}]")
            else:
                yield f"{path}[{index}]", True, item
    elif rest:
        yield from walk(value, rest, path)
    else:
        yield path, True, value


def _nothing(message: Message, prefix: str) -> list[FieldViolation]:
    return []


@functools.cache
def field_step(descriptor: Descriptor, segment: str) -> tuple[str, bool, bool] | None:
    """For one path segment on one message type (worked out once): the field's name, whether
    the segment applies to each element (`[]`), and whether the field can be unset; None
    when the message has no such field."""
    each = segment.endswith("[]")
    name = segment[:-2] if each else segment
    field = descriptor.fields_by_name.get(name)
    if field is None:
        return None
    return name, each, not is_repeated(field) and field.has_presence


# --- checks that are not a single rule ------------------------------------------------


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
