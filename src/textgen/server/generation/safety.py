"""Safety thresholds: rate text with the engine, compare with the caller's settings.

Text and message methods screen TEXT_DEFAULT_CATEGORIES (1-6); content methods screen
CONTENT_DEFAULT_CATEGORIES (7-10), and civic integrity (11) only when the caller sets it. The
two families are textgen.harm_families', shared with the client. A category without a
setting uses DEFAULT_THRESHOLD. A rating blocks when its probability reaches the threshold;
BLOCK_NONE and OFF never block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from textgen.harm_families import CONTENT_CATEGORIES, TEXT_CATEGORIES
from textgen.server.engine import Engine, HarmCategory, RatingStream
from textgen.v1 import model_pb2, safety_pb2

Setting = safety_pb2.SafetySetting
Rating = safety_pb2.SafetyRating
Category = HarmCategory

DEFAULT_THRESHOLD = Setting.BLOCK_MEDIUM_AND_ABOVE

# The families' categories are the client's as well (textgen.harm_families).
TEXT_DEFAULT_CATEGORIES: tuple[Category, ...] = TEXT_CATEGORIES
CONTENT_DEFAULT_CATEGORIES: tuple[Category, ...] = CONTENT_CATEGORIES
# The categories a request's safety_settings may name, per family.
TEXT_SETTABLE_CATEGORIES = frozenset(TEXT_DEFAULT_CATEGORIES)
CONTENT_SETTABLE_CATEGORIES = frozenset(
    (*CONTENT_DEFAULT_CATEGORIES, safety_pb2.HARM_CATEGORY_CIVIC_INTEGRITY)
)

# Threshold -> the lowest probability it blocks (None: never blocks).
_LOWEST_BLOCKED: dict[int, int | None] = {
    Setting.BLOCK_LOW_AND_ABOVE: Rating.LOW,
    Setting.BLOCK_MEDIUM_AND_ABOVE: Rating.MEDIUM,
    Setting.BLOCK_ONLY_HIGH: Rating.HIGH,
    Setting.BLOCK_NONE: None,
    Setting.OFF: None,
}


class Verdict(NamedTuple):
    """Ratings of one text (with `blocked` set) and the (rating, setting) pairs that block."""

    ratings: Sequence[Rating]
    blocks: Sequence[safety_pb2.SafetyFeedback] = ()

    @property
    def blocked(self) -> bool:
        """True when any rating reached its threshold."""
        return bool(self.blocks)


class SafetyPolicy:
    """The effective setting for every screened category of one request.

    Policies are shared and never changed: `build` hands out one policy per family for the
    requests that set nothing, and each policy works out once which probability blocks.
    """

    __slots__ = ("categories", "lowest", "settings")

    def __init__(self, settings: dict[Category, Setting]) -> None:
        self.settings = settings
        # The categories to rate, in enum order, and the lowest probability that blocks each.
        self.categories = tuple(sorted(settings))
        self.lowest = {
            category: _LOWEST_BLOCKED.get(setting.threshold)
            for category, setting in settings.items()
        }

    @classmethod
    def build(cls, requested: Sequence[Setting], defaults: Sequence[Category]) -> SafetyPolicy:
        """Defaults for `defaults`, overridden or extended by the request's settings."""
        if not requested:
            return _default_policy(tuple(defaults))
        settings = {
            category: Setting(category=category, threshold=DEFAULT_THRESHOLD)
            for category in defaults
        }
        for setting in requested:
            threshold = setting.threshold or DEFAULT_THRESHOLD
            settings[setting.category] = Setting(category=setting.category, threshold=threshold)
        return cls(settings)

    def judge(self, ratings: Sequence[Rating]) -> Verdict:
        """The ratings with `blocked` set, and the blocking pairs."""
        lowest = self.lowest
        for rating in ratings:
            floor = lowest.get(rating.category)
            if rating.blocked or (floor is not None and rating.probability >= floor):
                return self._judged(ratings)
        return Verdict(list(ratings))  # nothing blocks, and every rating already says so

    def _judged(self, ratings: Sequence[Rating]) -> Verdict:
        judged: list[Rating] = []
        blocks: list[safety_pb2.SafetyFeedback] = []
        for rating in ratings:
            lowest = self.lowest.get(rating.category)
            blocked = lowest is not None and rating.probability >= lowest
            # A rating that already says so passes on as it is; the engine's own objects
            # are never changed.
            judged_rating = rating
            if rating.blocked != blocked:
                judged_rating = Rating()
                judged_rating.CopyFrom(rating)
                judged_rating.blocked = blocked
            if blocked:
                setting = self.settings[rating.category]
                blocks.append(safety_pb2.SafetyFeedback(rating=judged_rating, setting=setting))
            judged.append(judged_rating)
        return Verdict(judged, blocks)

    def judge_own(self, ratings: Sequence[Rating]) -> Verdict | None:
        """The verdict on ratings an engine gave with its candidate, or None when they
        lack a category this policy screens (the caller then asks the engine to rate).

        Only the screened categories are judged, in this policy's order, so the verdict
        equals the one `rate` would give from an engine that rates the same way.
        """
        screened = self.categories
        if len(ratings) < len(screened):
            return None
        if len(ratings) == len(screened):
            # Most engines (the fake one among them) rate exactly the screened categories,
            # in their order: then this is `judge`, in one pass that also checks the order.
            lowest = self.lowest
            blocks = False
            for rating, category in zip(ratings, screened, strict=True):
                if rating.category != category:
                    break
                floor = lowest[category]
                if rating.blocked or (floor is not None and rating.probability >= floor):
                    blocks = True
            else:
                return self._judged(ratings) if blocks else Verdict(list(ratings))
        by_category = {rating.category: rating for rating in ratings}
        try:
            chosen = [by_category[category] for category in self.categories]
        except KeyError:
            return None
        return self.judge(chosen)

    async def rate(
        self,
        engine: Engine,
        model: model_pb2.Model,
        text: str,
        *,
        stream: RatingStream | None = None,
    ) -> Verdict:
        """Ask the engine to rate `text` for every screened category, then judge it. With
        `stream`, `text` is the newest piece of a streamed candidate (see RatingStream)."""
        if stream is None:
            return self.judge(await engine.rate(model, text, self.categories))
        return self.judge(await engine.rate(model, text, self.categories, stream=stream))


_DEFAULT_POLICIES: dict[tuple[Category, ...], SafetyPolicy] = {}


def _default_policy(defaults: tuple[Category, ...]) -> SafetyPolicy:
    policy = _DEFAULT_POLICIES.get(defaults)
    if policy is None:
        settings = {
            category: Setting(category=category, threshold=DEFAULT_THRESHOLD)
            for category in defaults
        }
        policy = _DEFAULT_POLICIES[defaults] = SafetyPolicy(settings)
    return policy
