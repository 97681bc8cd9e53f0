"""Running a list of rules (validation.rules) against a message: `violations`, and `ensure`
to refuse with INVALID_ARGUMENT.

A list is worked out once per message type into a plan. Each rule is filed under the field
whose being unset (an optional field), empty (a list or a map) or at its default (a scalar
that the rule passes there) leaves it nothing to check; the rest always run. A call then
asks the message which fields it sets (ListFields) and runs only the rules filed under
those, plus the ones that always run, in the list's order. Neighbouring CrossRules with the
same `within` share one walk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from textgen._kept import Kept
from textgen._protobuf import is_repeated
from textgen.server.rpc.errors import FieldViolation, invalid_argument
from textgen.server.validation.rules import (
    AnyRule,
    CrossRule,
    Rule,
    Shown,
    TreeRule,
    field_step,
    walk,
)


class _SharedWalk(Shown):
    """Neighbouring CrossRules with the same `within`: the nested messages are walked once
    and each is handed to every rule's check."""

    __slots__ = ("rules",)
    _shown = ("rules",)

    def __init__(self, rules: tuple[CrossRule, ...]) -> None:
        self.rules = rules

    def violations(self, message: Message, prefix: str = "") -> list[FieldViolation]:
        found: list[FieldViolation] = []
        for path, present, nested in walk(message, self.rules[0].segments, prefix):
            if present:
                found.extend(
                    rule.failure(path, nested) for rule in self.rules if not rule.check(nested)
                )
        return found


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
        found.extend(plan.runs[index](message, prefix))
    return found


class _Plan:
    """The rules of a list that apply to one message type, in order (`entries`, and `runs`,
    what checks each for this type), split into those that always run and those with nothing
    to check while a field is unset, empty or at its default (`guarded`, by that field's
    name); both hold indexes into `entries`."""

    __slots__ = ("always", "descriptor", "entries", "guarded", "runs")

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.entries: list[AnyRule | _SharedWalk] = []
        self.runs: list[Callable[[Message, str], list[FieldViolation]]] = []
        self.always: list[int] = []
        self.guarded: dict[str, list[int]] = {}

    def add(self, guard: str | None, entry: AnyRule | _SharedWalk) -> None:
        index = len(self.entries)
        self.entries.append(entry)
        # A field rule is bound to the message type: its fields are looked up once here.
        self.runs.append(
            entry.bound(self.descriptor) if isinstance(entry, Rule) else entry.violations
        )
        if guard is None:
            self.always.append(index)
        else:
            self.guarded.setdefault(guard, []).append(index)


# (message type, id of a rule list) -> (that list, its plan); the list is held so that its id
# is not reused while the entry lives.
_PLANS: Kept[tuple[Descriptor, int], tuple[Sequence[AnyRule], _Plan]] = Kept(512)


def _plan(message: Message, rules: Sequence[AnyRule]) -> _Plan:
    """The _Plan of `rules` for the message's type, worked out once per type and rule list."""
    # Newer typing stubs give DESCRIPTOR a union of the C and Python descriptor classes;
    # both offer what a plan reads.
    descriptor: Any = message.DESCRIPTOR
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
        step = field_step(descriptor, rule.segments[0])
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
    plan = _Plan(descriptor)
    for guard, entry in planned:
        plan.add(guard, entry)
    _PLANS.keep(key, (rules, plan))
    return plan


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
    step = field_step(descriptor, rule.field) if rule.when_set else None
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
