"""The fake engine's harm check: explicit marker words decide every safety rating.

Nothing is inferred from meaning; only these markers (case-insensitive) count.

``unsafe:<category>:<level>``
    Rates the text at ``<level>`` for ``<category>``. ``<category>`` is a HarmCategory name
    without its ``HARM_CATEGORY_`` prefix, in lower case: ``derogatory``, ``toxicity``,
    ``violence``, ``sexual``, ``medical``, ``dangerous``, ``harassment``, ``hate_speech``,
    ``sexually_explicit``, ``dangerous_content``, ``civic_integrity``; or ``any`` for every
    category. ``<level>`` is ``negligible``, ``low``, ``medium`` or ``high``. When several
    markers name one category, the highest level wins. Categories no marker names are
    NEGLIGIBLE. Example: a prompt holding ``unsafe:violence:high`` is rated HIGH for
    HARM_CATEGORY_VIOLENCE, which the servicer blocks under default thresholds.

``echo:unsafe:<category>:<level>``
    Harmless in the prompt itself (it rates NEGLIGIBLE), but the fake engine starts each
    generated answer with ``unsafe:<category>:<level>``, so the *candidate* gets that rating.
    Use it to exercise blocked candidates with an unblocked prompt.

Ratings are plain `HarmRating` values; comparing them with thresholds is the servicer's job.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from textgen.server.engine import HarmCategory, HarmProbability, HarmRating
from textgen.server.generation.safety import CONTENT_DEFAULT_CATEGORIES, TEXT_DEFAULT_CATEGORIES
from textgen.v1 import safety_pb2

Probability: TypeAlias = HarmProbability
Levels: TypeAlias = dict[str, Probability]

# The fake engine rates text answers for the text family and content answers for the content
# family: the categories the servicer screens by default (defined once, in the safety module).
TEXT_CATEGORIES = TEXT_DEFAULT_CATEGORIES
CONTENT_CATEGORIES = CONTENT_DEFAULT_CATEGORIES

_PREFIX = "HARM_CATEGORY_"
_NEGLIGIBLE = safety_pb2.SafetyRating.NEGLIGIBLE
_LEVELS: dict[str, Probability] = {
    "negligible": _NEGLIGIBLE,
    "low": safety_pb2.SafetyRating.LOW,
    "medium": safety_pb2.SafetyRating.MEDIUM,
    "high": safety_pb2.SafetyRating.HIGH,
}
_MARKER_BODY = r"unsafe:([a-z_]+):(" + "|".join(_LEVELS) + r")\b"


# Compiled on first use (text without a colon is never scanned, so many runs never need them).
@functools.cache
def _marker() -> re.Pattern[str]:
    # A marker counts only when it starts a word, so "echo:unsafe:..." does not rate its host.
    return re.compile(r"(?<![\w:])" + _MARKER_BODY, re.IGNORECASE)


@functools.cache
def _echo() -> re.Pattern[str]:
    return re.compile(r"(?<![\w:])echo:(" + _MARKER_BODY + ")", re.IGNORECASE)


# Each category's marker name: "violence", "hate_speech"...
_SHORT_NAMES: dict[HarmCategory, str] = {
    category: name.removeprefix(_PREFIX).lower()
    for name, category in safety_pb2.HarmCategory.items()
}
_ANY = "any"
# The longest marker that can change a rating: a longer one names no known category.
_LONGEST_MARKER = (
    len("unsafe::") + max(map(len, [*_SHORT_NAMES.values(), _ANY])) + max(map(len, _LEVELS))
)


def marker(category: HarmCategory, level: str) -> str:
    """The marker that rates text at level for category, e.g. ``unsafe:violence:high``."""
    return f"unsafe:{_SHORT_NAMES[category]}:{level}"


def rate(text: str, categories: Iterable[HarmCategory]) -> tuple[HarmRating, ...]:
    """One rating per category, in the order given, from the markers in text."""
    return _ratings(_levels(text), categories)


class RunningRating:
    """The ratings of a text that arrives in pieces, looking at each piece once.

    `add(piece, categories)` answers exactly what `rate` would for all the pieces so far,
    joined. Markers that can no longer change (a character follows them) are kept as levels;
    only a short tail of the text is scanned again with the next piece, so a marker split
    across pieces is still found, and one that ends the text so far counts only while
    nothing that extends its last word has arrived.
    """

    def __init__(self) -> None:
        self._settled: Levels = {}
        # The end of the text so far: enough to hold the start of any marker not yet
        # settled, plus one character before it for the check that a marker starts a word.
        self._tail = ""
        self._tail_is_start = True  # the tail is the whole text, so it has no context char

    def add(self, piece: str, categories: Iterable[HarmCategory]) -> tuple[HarmRating, ...]:
        """The ratings of the text so far, `piece` appended."""
        text = self._tail + piece
        current = dict(self._settled)
        scanned = _marker().finditer(text, 0 if self._tail_is_start else 1) if ":" in text else ()
        for match in scanned:
            name, level = match.group(1).lower(), _LEVELS[match.group(2).lower()]
            current[name] = max(level, current.get(name, level))
            if match.end() < len(text):
                self._settled[name] = max(level, self._settled.get(name, level))
        keep = _LONGEST_MARKER + 1
        if len(text) > keep:
            self._tail, self._tail_is_start = text[-keep:], False
        else:
            self._tail = text
        return _ratings(current, categories)


def named_categories(text: str) -> list[HarmCategory]:
    """The known categories that markers in text name, in enum order."""
    names = set(_levels(text))
    if not names:
        return []
    return [
        category
        for category, name in _SHORT_NAMES.items()
        if category != safety_pb2.HARM_CATEGORY_UNSPECIFIED and name in names
    ]


def echoed_markers(text: str) -> Sequence[str]:
    """The ``unsafe:...`` markers that ``echo:`` asks the answer to carry, in order."""
    return [match.group(1).lower() for match in _echo().finditer(text)]


def _levels(text: str) -> Levels:
    levels: Levels = {}
    if ":" not in text:  # no marker without one: skip the scan
        return levels
    for match in _marker().finditer(text):
        name, level = match.group(1).lower(), _LEVELS[match.group(2).lower()]
        levels[name] = max(level, levels.get(name, level))
    return levels


class _Unmarked(dict[tuple[HarmCategory, ...], tuple[HarmRating, ...]]):
    # The NEGLIGIBLE ratings of a list of categories, per list: what most text (text without
    # markers) is rated, found with one lookup. Ratings are immutable, so they are shared.
    def __missing__(self, key: tuple[HarmCategory, ...]) -> tuple[HarmRating, ...]:
        self[key] = found = tuple(HarmRating(category, _NEGLIGIBLE) for category in key)
        return found


_UNMARKED = _Unmarked()


def unmarked(categories: Iterable[HarmCategory]) -> tuple[HarmRating, ...]:
    """What `rate` gives text without markers: NEGLIGIBLE for each category, in order."""
    return _UNMARKED[categories if isinstance(categories, tuple) else tuple(categories)]


def _ratings(levels: Levels, categories: Iterable[HarmCategory]) -> tuple[HarmRating, ...]:
    if not levels:
        return unmarked(categories)
    everything = levels.get(_ANY, _NEGLIGIBLE)
    return tuple(
        HarmRating(category, max(everything, levels.get(_SHORT_NAMES[category], everything)))
        for category in categories
    )
