"""Safety thresholds: rate text with the engine, compare with the caller's settings.

Text and message methods screen TEXT_DEFAULT_CATEGORIES (1-6); content methods screen
CONTENT_DEFAULT_CATEGORIES (7-10), and civic integrity (11) only when the caller sets it. The
two families are textgen.harm_families', shared with the client. A category without a
setting uses DEFAULT_THRESHOLD. A rating blocks when its probability reaches the threshold;
BLOCK_NONE and OFF never block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, TypeAlias

from textgen._kept import Kept
from textgen.harm_families import CONTENT_CATEGORIES, TEXT_CATEGORIES
from textgen.server.engine import Engine, HarmCategory, HarmRating, RatingStream
from textgen.v1 import model_pb2, safety_pb2

Setting = safety_pb2.SafetySetting
Threshold: TypeAlias = safety_pb2.SafetySetting.HarmBlockThreshold.ValueType
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


class Block(NamedTuple):
    """A rating that reached the threshold set for its category."""

    rating: HarmRating
    threshold: Threshold


class Verdict(NamedTuple):
    """The ratings of one text and the ones among them that block. The response's
    SafetyRating messages are written from these (generation.responses), with `blocked` set
    on the blocking ones."""

    ratings: tuple[HarmRating, ...]
    blocks: tuple[Block, ...] = ()
    # Whether any rating reached its threshold: bool(blocks), kept as a field because every
    # response asks it of every verdict.
    blocked: bool = False


# Verdicts a policy keeps, per kind: ratings repeat (most text is rated NEGLIGIBLE
# throughout), and a verdict is worked out from its ratings alone.
_VERDICTS_KEPT = 256
# judge_own's answer for ratings that lack a screened category.
_UNCOVERED = Verdict(())


class SafetyPolicy:
    """The effective setting for every screened category of one request.

    Policies are shared and their settings never change: `build` hands out one policy per
    family for the requests that set nothing, and each policy works out once which
    probability blocks. Ratings and verdicts are immutable, so a policy also keeps the
    verdicts it gave, by their ratings, and gives the same one again.
    """

    __slots__ = ("_own", "_verdicts", "categories", "lowest", "settings")

    def __init__(self, settings: dict[Category, Setting]) -> None:
        self.settings = settings
        # The categories to rate, in enum order, and the lowest probability that blocks each.
        self.categories = tuple(sorted(settings))
        self.lowest = {
            category: _LOWEST_BLOCKED.get(setting.threshold)
            for category, setting in settings.items()
        }
        self._verdicts: Kept[tuple[HarmRating, ...], Verdict] = Kept(_VERDICTS_KEPT)
        self._own: Kept[tuple[HarmRating, ...], Verdict] = Kept(_VERDICTS_KEPT)

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

    def judge(self, ratings: Sequence[HarmRating]) -> Verdict:
        """The verdict on `ratings`, kept in their order: the ones that reach the threshold
        of their category block."""
        key = ratings if type(ratings) is tuple else tuple(ratings)
        verdict = _kept(self._verdicts, key)
        if verdict is None:
            verdict = self._verdicts.keep(key, self._judged(key))
        return verdict

    def _judged(self, ratings: tuple[HarmRating, ...]) -> Verdict:
        blocks = []
        for rating in ratings:
            lowest = self.lowest.get(rating.category)
            if lowest is not None and rating.probability >= lowest:
                blocks.append(Block(rating, self.settings[rating.category].threshold))
        return Verdict(ratings, tuple(blocks), bool(blocks))

    def judge_own(self, ratings: Sequence[HarmRating]) -> Verdict | None:
        """The verdict on ratings an engine gave with its candidate, or None when they
        lack a category this policy screens (the caller then asks the engine to rate).

        Only the screened categories are judged, in this policy's order, so the verdict
        equals the one `rate` would give from an engine that rates the same way.
        """
        key = ratings if type(ratings) is tuple else tuple(ratings)
        verdict = _kept(self._own, key)
        if verdict is None:
            by_category = {rating.category: rating for rating in key}
            if all(category in by_category for category in self.categories):
                chosen = tuple(by_category[category] for category in self.categories)
                verdict = self.judge(chosen)
            else:
                verdict = _UNCOVERED
            self._own.keep(key, verdict)
        return None if verdict is _UNCOVERED else verdict

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


def _kept(
    verdicts: Kept[tuple[HarmRating, ...], Verdict], key: tuple[HarmRating, ...]
) -> Verdict | None:
    try:
        return verdicts.get(key)
    except TypeError:  # unhashable: not HarmRating values (an engine written for messages?)
        kinds = sorted({type(rating).__name__ for rating in key})
        raise TypeError(
            "an engine's ratings must be HarmRating(category, probability) values, "
            f"not {', '.join(kinds)}"
        ) from None


def _default_policy(defaults: tuple[Category, ...]) -> SafetyPolicy:
    policy = _DEFAULT_POLICIES.get(defaults)
    if policy is None:
        settings = {
            category: Setting(category=category, threshold=DEFAULT_THRESHOLD)
            for category in defaults
        }
        policy = _DEFAULT_POLICIES[defaults] = SafetyPolicy(settings)
    return policy
