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

Ratings never set ``blocked``; comparing them with thresholds is the servicer's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from textgen.v1 import safety_pb2

HarmCategory: TypeAlias = safety_pb2.HarmCategory.ValueType
Probability: TypeAlias = safety_pb2.SafetyRating.HarmProbability.ValueType

_PREFIX = "HARM_CATEGORY_"
_LEVELS: dict[str, Probability] = {
    "negligible": safety_pb2.SafetyRating.NEGLIGIBLE,
    "low": safety_pb2.SafetyRating.LOW,
    "medium": safety_pb2.SafetyRating.MEDIUM,
    "high": safety_pb2.SafetyRating.HIGH,
}
_MARKER_BODY = r"unsafe:([a-z_]+):(" + "|".join(_LEVELS) + r")\b"
# A marker counts only when it starts a word, so "echo:unsafe:..." does not rate its host.
_MARKER = re.compile(r"(?<![\w:])" + _MARKER_BODY, re.IGNORECASE)
_ECHO = re.compile(r"(?<![\w:])echo:(" + _MARKER_BODY + ")", re.IGNORECASE)

# The categories the text and message methods screen for, and those content generation uses.
TEXT_CATEGORIES: tuple[HarmCategory, ...] = (
    safety_pb2.HARM_CATEGORY_DEROGATORY,
    safety_pb2.HARM_CATEGORY_TOXICITY,
    safety_pb2.HARM_CATEGORY_VIOLENCE,
    safety_pb2.HARM_CATEGORY_SEXUAL,
    safety_pb2.HARM_CATEGORY_MEDICAL,
    safety_pb2.HARM_CATEGORY_DANGEROUS,
)
CONTENT_CATEGORIES: tuple[HarmCategory, ...] = (
    safety_pb2.HARM_CATEGORY_HARASSMENT,
    safety_pb2.HARM_CATEGORY_HATE_SPEECH,
    safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
    safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
)


def marker(category: HarmCategory, level: str) -> str:
    """The marker that rates text at level for category, e.g. ``unsafe:violence:high``."""
    return f"unsafe:{_short_name(category)}:{level}"


def rate(text: str, categories: Iterable[HarmCategory]) -> list[safety_pb2.SafetyRating]:
    """One rating per category, in the order given, from the markers in text."""
    levels = _levels(text)
    everything = levels.get("any", safety_pb2.SafetyRating.NEGLIGIBLE)
    return [
        safety_pb2.SafetyRating(
            category=category,
            probability=max(everything, levels.get(_short_name(category), everything)),
        )
        for category in categories
    ]


def named_categories(text: str) -> list[HarmCategory]:
    """The known categories that markers in text name, in enum order."""
    names = set(_levels(text))
    return [
        category
        for category in safety_pb2.HarmCategory.values()
        if category != safety_pb2.HARM_CATEGORY_UNSPECIFIED and _short_name(category) in names
    ]


def echoed_markers(text: str) -> Sequence[str]:
    """The ``unsafe:...`` markers that ``echo:`` asks the answer to carry, in order."""
    return [match.group(1).lower() for match in _ECHO.finditer(text)]


def _levels(text: str) -> dict[str, Probability]:
    levels: dict[str, Probability] = {}
    for match in _MARKER.finditer(text):
        name, level = match.group(1).lower(), _LEVELS[match.group(2).lower()]
        levels[name] = max(level, levels.get(name, level))
    return levels


def _short_name(category: HarmCategory) -> str:
    return safety_pb2.HarmCategory.Name(category).removeprefix(_PREFIX).lower()
