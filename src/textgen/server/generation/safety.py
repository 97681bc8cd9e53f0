"""Safety thresholds: rate text with the engine, compare with the caller's settings.

Text and message methods screen categories 1-6, content methods 7-10 (11 only when the
caller sets it). A category without a setting uses DEFAULT_THRESHOLD. A rating blocks when
its probability reaches the threshold; BLOCK_NONE and OFF never block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from textgen.server.engine import Engine
from textgen.v1 import model_pb2, safety_pb2

Setting = safety_pb2.SafetySetting
Rating = safety_pb2.SafetyRating

DEFAULT_THRESHOLD = Setting.BLOCK_MEDIUM_AND_ABOVE
Category: TypeAlias = safety_pb2.HarmCategory.ValueType

TEXT_DEFAULT_CATEGORIES: tuple[Category, ...] = (
    safety_pb2.HARM_CATEGORY_DEROGATORY,
    safety_pb2.HARM_CATEGORY_TOXICITY,
    safety_pb2.HARM_CATEGORY_VIOLENCE,
    safety_pb2.HARM_CATEGORY_SEXUAL,
    safety_pb2.HARM_CATEGORY_MEDICAL,
    safety_pb2.HARM_CATEGORY_DANGEROUS,
)
CONTENT_DEFAULT_CATEGORIES: tuple[Category, ...] = (
    safety_pb2.HARM_CATEGORY_HARASSMENT,
    safety_pb2.HARM_CATEGORY_HATE_SPEECH,
    safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
    safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
)

# Threshold -> the lowest probability it blocks (None: never blocks).
_LOWEST_BLOCKED: dict[int, int | None] = {
    Setting.BLOCK_LOW_AND_ABOVE: Rating.LOW,
    Setting.BLOCK_MEDIUM_AND_ABOVE: Rating.MEDIUM,
    Setting.BLOCK_ONLY_HIGH: Rating.HIGH,
    Setting.BLOCK_NONE: None,
    Setting.OFF: None,
}


@dataclass(frozen=True)
class Verdict:
    """Ratings of one text (with `blocked` set) and the (rating, setting) pairs that block."""

    ratings: list[Rating]
    blocks: list[safety_pb2.SafetyFeedback] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """True when any rating reached its threshold."""
        return bool(self.blocks)


@dataclass(frozen=True)
class SafetyPolicy:
    """The effective setting for every screened category of one request."""

    settings: dict[Category, Setting]

    @classmethod
    def build(cls, requested: Sequence[Setting], defaults: Sequence[Category]) -> SafetyPolicy:
        """Defaults for `defaults`, overridden or extended by the request's settings."""
        settings = {
            category: Setting(category=category, threshold=DEFAULT_THRESHOLD)
            for category in defaults
        }
        for setting in requested:
            threshold = setting.threshold or DEFAULT_THRESHOLD
            settings[setting.category] = Setting(category=setting.category, threshold=threshold)
        return cls(settings)

    def judge(self, ratings: Sequence[Rating]) -> Verdict:
        """Copies of the ratings with `blocked` set, and the blocking pairs."""
        judged: list[Rating] = []
        blocks: list[safety_pb2.SafetyFeedback] = []
        for rating in ratings:
            copy = Rating()
            copy.CopyFrom(rating)
            setting = self.settings.get(rating.category)
            lowest = _LOWEST_BLOCKED.get(setting.threshold) if setting is not None else None
            copy.blocked = lowest is not None and rating.probability >= lowest
            if copy.blocked and setting is not None:
                blocks.append(safety_pb2.SafetyFeedback(rating=copy, setting=setting))
            judged.append(copy)
        return Verdict(judged, blocks)

    async def rate(self, engine: Engine, model: model_pb2.Model, text: str) -> Verdict:
        """Ask the engine to rate `text` for every screened category, then judge it."""
        return self.judge(await engine.rate(model, text, sorted(self.settings)))
