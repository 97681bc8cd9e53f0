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
`dataset_rules`, `batch_rules`). Syntactic rules run before any lookup; the few that need
the model (output_token_limit, max_temperature, supported methods, prompt size) are built
from it after the lookup.

    ensure(violations(request, TEXT_RULES), model_name_violations(request.model))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence, Sized
from typing import Any, ClassVar, cast

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from textgen._protobuf import is_repeated
from textgen.server.rpc.errors import FieldViolation, invalid_argument

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


class _Shown:
    """The rule classes' common part: a repr of the fields they were built with. They are
    plain slotted classes, not dataclasses: building a dataclass costs about half a
    millisecond, paid at every server start."""

    __slots__ = ()
    _shown: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


class Rule(_Shown):
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
        if "[]" not in self.field:
            return self._descended(message, prefix)
        found: list[FieldViolation] = []
        for path, present, value in _walk(message, self.segments, prefix):
            if not present:
                if self.required:
                    found.append(self._absent(path))
            elif not self.check(value):
                found.append(FieldViolation(path, self.message, self.reason))
        return found

    def _descended(self, message: Message, prefix: str) -> list[FieldViolation]:
        # A path through single fields (`prompt.text`): one value at most, reached without
        # the generator _walk needs for lists; the path is spelt only for a violation.
        value: Any = message
        for depth, segment in enumerate(self.segments):
            step = _step(value.DESCRIPTOR, segment)
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


class CrossRule(_Shown):
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
            for path, present, nested in _walk(message, self.segments, prefix)
            if present and not self.check(nested)
        ]

    def failure(self, path: str, checked: Any) -> FieldViolation:  # noqa: ANN401 (a message)
        """The violation reported when `checked`, found at `path`, fails the check."""
        text = self.message if self.describe is None else self.describe(checked)
        return FieldViolation(_join(path, self.field), text, self.reason)


# What a TreeRule's finder reports: a path below the field ("" for the field itself, or a
# suffix such as ".items.minimum") and why that value fails.
Fault = tuple[str, str]


class TreeRule(_Shown):
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
            for path, present, value in _walk(message, self.segments, prefix)
            if present
            for suffix, text in self.find(value)
        ]


AnyRule = Rule | CrossRule | TreeRule


class _SharedWalk(_Shown):
    """Neighbouring CrossRules with the same `within`: the nested messages are walked once
    and each is handed to every rule's check."""

    __slots__ = ("rules",)
    _shown = ("rules",)

    def __init__(self, rules: tuple[CrossRule, ...]) -> None:
        self.rules = rules

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        found: list[FieldViolation] = []
        for path, present, nested in _walk(message, self.rules[0].segments, prefix):
            if present:
                found.extend(
                    rule.failure(path, nested) for rule in self.rules if not rule.check(nested)
                )
        return found


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


@functools.cache
def _repeated(descriptor: Descriptor, name: str) -> bool:
    """Whether the message type's field `name` is a list or a map."""
    return is_repeated(descriptor.fields_by_name[name])


def violations(
    message: Message, rules: Iterable[AnyRule], prefix: str = ""
) -> list[FieldViolation]:
    """Every violation of the rules in the message, in the rules' order; paths are prefixed
    with `prefix`."""
    if not isinstance(rules, list | tuple):
        return [found for rule in rules for found in rule.violations(message, prefix)]
    plan = _plan(message, rules)
    chosen = list(plan.always)
    # ListFields names exactly the fields a guard asks about: set optional fields, non-empty
    # lists and maps, scalars away from their default.
    for field, _ in message.ListFields():
        guarded = plan.guarded.get(field.name)
        if guarded is not None:
            chosen += guarded
    if not chosen:
        return []
    chosen.sort()
    found: list[FieldViolation] = []
    for index in chosen:
        found.extend(plan.entries[index].violations(message, prefix))
    return found


class _Plan:
    """The rules of a list that apply to one message type, in order (`entries`), split into
    those that always run and those with nothing to check while a field is unset, empty or
    at its default (`guarded`, by that field's name); both hold indexes into `entries`."""

    __slots__ = ("always", "entries", "guarded")

    def __init__(self) -> None:
        self.entries: list[AnyRule | _SharedWalk] = []
        self.always: list[int] = []
        self.guarded: dict[str, list[int]] = {}

    def add(self, guard: str | None, entry: AnyRule | _SharedWalk) -> None:
        index = len(self.entries)
        self.entries.append(entry)
        if guard is None:
            self.always.append(index)
        else:
            self.guarded.setdefault(guard, []).append(index)


# (message type, id of a rule list) -> (that list, its plan); the list is held so that its id
# is not reused while the entry lives.
_PLANS: dict[tuple[Descriptor, int], tuple[Sequence[AnyRule], _Plan]] = {}
_PLANS_KEPT = 512


def _plan(message: Message, rules: Sequence[AnyRule]) -> _Plan:
    """The _Plan of `rules` for the message's type, worked out once per type and rule list."""
    descriptor = _descriptor(message)
    key = (descriptor, id(rules))
    known = _PLANS.get(key)
    if known is not None and known[0] is rules:
        return known[1]
    # (guard, entry) in rule order; neighbouring CrossRules with one `within` share a walk.
    planned: list[tuple[str | None, AnyRule | _SharedWalk]] = []
    for rule in rules:
        if isinstance(rule, CrossRule) and not rule.segments:
            planned.append(_cross_entry(descriptor, rule))
            continue
        step = _step(descriptor, rule.segments[0])
        if step is None:
            continue  # the message has no such field
        name, each, optional = step
        last = planned[-1][1] if planned else None
        if isinstance(rule, CrossRule) and isinstance(last, CrossRule | _SharedWalk):
            shared = last.rules if isinstance(last, _SharedWalk) else (last,)
            if shared[0].within == rule.within:
                planned[-1] = (planned[-1][0], _SharedWalk((*shared, rule)))
                continue
        if each or _repeated(descriptor, name):
            # Each element is checked, or the whole list or map: an empty one is unset.
            guarded = each or isinstance(rule, TreeRule) or _passes_unset(message, rule)
            planned.append((name if guarded else None, rule))
        elif optional:
            needed = not isinstance(rule, CrossRule) and rule.required
            planned.append((None if needed else name, rule))
        else:
            # A scalar without presence: skipped at its default when the default passes.
            planned.append((name if _passes_unset(message, rule) else None, rule))
    plan = _Plan()
    for guard, entry in planned:
        plan.add(guard, entry)
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.clear()
    _PLANS[key] = (rules, plan)
    return plan


def _descriptor(message: Message) -> Descriptor:
    # Newer typing stubs give DESCRIPTOR a union of the C and Python descriptor classes;
    # both offer what a plan reads.
    found: Any = message.DESCRIPTOR
    return cast("Descriptor", found)


def _passes_unset(message: Message, rule: AnyRule) -> bool:
    """Whether `rule` finds nothing in a message of this type with every field unset, so it
    need not run while its field stays at its default."""
    if isinstance(rule, CrossRule) or rule.required:
        return False
    try:
        return not rule.violations(type(message)())
    except Exception:  # a check that cannot read a default must always run
        return False


def _cross_entry(descriptor: Descriptor, rule: CrossRule) -> tuple[str | None, CrossRule]:
    """The plan entry of a CrossRule over the message itself: guarded by its field when the
    rule can fail only while that field is set."""
    step = _step(descriptor, rule.field) if rule.when_set else None
    guarded = step is not None and step[2]
    return (rule.field if guarded else None, rule)


def ensure(*groups: Iterable[FieldViolation]) -> None:
    """Raise INVALID_ARGUMENT naming every violation in the groups, if there is any."""
    found = [violation for group in groups for violation in group]
    if found:
        raise invalid_argument(found)


def validate(message: Message, rules: Iterable[AnyRule], prefix: str = "") -> None:
    """ensure(violations(message, rules, prefix))."""
    ensure(violations(message, rules, prefix))


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
