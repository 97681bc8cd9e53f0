"""SafetyPolicy: thresholds per category, shared default policies, judging ratings."""

from __future__ import annotations

import pytest
from textgen.v1 import safety_pb2

from textgen.server.engine import HarmRating
from textgen.server.generation.safety import (
    CONTENT_DEFAULT_CATEGORIES,
    CONTENT_SETTABLE_CATEGORIES,
    DEFAULT_THRESHOLD,
    TEXT_DEFAULT_CATEGORIES,
    TEXT_SETTABLE_CATEGORIES,
    Block,
    SafetyPolicy,
)

Rating = safety_pb2.SafetyRating
Setting = safety_pb2.SafetySetting
VIOLENCE = safety_pb2.HARM_CATEGORY_VIOLENCE
TOXICITY = safety_pb2.HARM_CATEGORY_TOXICITY


def test_families_and_what_each_may_set() -> None:
    assert list(TEXT_DEFAULT_CATEGORIES) == list(range(1, 7))
    assert list(CONTENT_DEFAULT_CATEGORIES) == list(range(7, 11))
    assert frozenset(range(1, 7)) == TEXT_SETTABLE_CATEGORIES
    assert frozenset(range(7, 12)) == CONTENT_SETTABLE_CATEGORIES


def test_requests_without_settings_share_one_policy_per_family() -> None:
    text = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    assert SafetyPolicy.build((), TEXT_DEFAULT_CATEGORIES) is text
    assert SafetyPolicy.build([], CONTENT_DEFAULT_CATEGORIES) is not text
    allow = Setting(category=VIOLENCE, threshold=Setting.BLOCK_NONE)
    custom = SafetyPolicy.build([allow], TEXT_DEFAULT_CATEGORIES)
    assert custom is not text
    assert custom.settings[VIOLENCE].threshold == Setting.BLOCK_NONE
    assert text.settings[VIOLENCE].threshold == Setting.BLOCK_MEDIUM_AND_ABOVE


def test_judge_marks_what_reaches_the_threshold() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    ratings = [HarmRating(VIOLENCE, Rating.HIGH), HarmRating(TOXICITY, Rating.LOW)]
    verdict = policy.judge(ratings)
    assert verdict.blocked
    assert verdict.ratings == tuple(ratings)
    assert verdict.blocks == (Block(HarmRating(VIOLENCE, Rating.HIGH), DEFAULT_THRESHOLD),)
    assert DEFAULT_THRESHOLD == Setting.BLOCK_MEDIUM_AND_ABOVE
    low = policy.judge([HarmRating(VIOLENCE, Rating.LOW), HarmRating(TOXICITY, Rating.MEDIUM)])
    assert [block.rating.category for block in low.blocks] == [TOXICITY]


def test_each_threshold_blocks_from_its_own_probability() -> None:
    for threshold, lowest in (
        (Setting.BLOCK_LOW_AND_ABOVE, Rating.LOW),
        (Setting.BLOCK_MEDIUM_AND_ABOVE, Rating.MEDIUM),
        (Setting.BLOCK_ONLY_HIGH, Rating.HIGH),
    ):
        policy = SafetyPolicy.build(
            [Setting(category=VIOLENCE, threshold=threshold)], TEXT_DEFAULT_CATEGORIES
        )
        blocked = [
            probability
            for probability in (Rating.NEGLIGIBLE, Rating.LOW, Rating.MEDIUM, Rating.HIGH)
            if policy.judge([HarmRating(VIOLENCE, probability)]).blocked
        ]
        assert blocked == list(range(lowest, Rating.HIGH + 1)), threshold


def test_equal_ratings_get_the_same_verdict_object() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    first = policy.judge([HarmRating(VIOLENCE, Rating.HIGH)])
    again = policy.judge((HarmRating(VIOLENCE, Rating.HIGH),))
    assert again is first
    other = policy.judge([HarmRating(VIOLENCE, Rating.LOW)])
    assert not other.blocked and first.blocked


def test_a_policy_keeps_a_bounded_number_of_verdicts() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    for count in range(1, 1000):
        ratings = [HarmRating(VIOLENCE, Rating.NEGLIGIBLE)] * count
        assert not policy.judge(ratings).blocked
    assert len(policy._verdicts) <= 256


def test_block_none_and_unscreened_categories_never_block() -> None:
    allow = Setting(category=VIOLENCE, threshold=Setting.BLOCK_NONE)
    policy = SafetyPolicy.build([allow], TEXT_DEFAULT_CATEGORIES)
    high = Rating.HIGH
    verdict = policy.judge(
        [HarmRating(VIOLENCE, high), HarmRating(safety_pb2.HARM_CATEGORY_HARASSMENT, high)]
    )
    assert not verdict.blocked


def _text_ratings(probabilities: dict[int, int]) -> list[HarmRating]:
    # One rating per text category, in the policy's order.
    return [
        HarmRating(category, probabilities.get(category, Rating.NEGLIGIBLE))  # type: ignore[arg-type]
        for category in TEXT_DEFAULT_CATEGORIES
    ]


def test_judge_own_in_the_policys_order_equals_judge() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    for ratings in (_text_ratings({}), _text_ratings({VIOLENCE: Rating.HIGH})):
        own = policy.judge_own(ratings)
        assert own is not None
        assert own == policy.judge(ratings)
    assert policy.judge_own(_text_ratings({VIOLENCE: Rating.HIGH})).blocked  # type: ignore[union-attr]


def test_judge_own_in_another_order_or_with_more_categories() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    ratings = _text_ratings({VIOLENCE: Rating.MEDIUM})
    shuffled = [*ratings[3:], *ratings[:3]]
    own = policy.judge_own(shuffled)
    assert own is not None
    # Judged in the policy's order, whatever order the engine gave.
    assert [rating.category for rating in own.ratings] == list(TEXT_DEFAULT_CATEGORIES)
    assert own.blocked and own.blocks[0].rating.category == VIOLENCE
    extra = [*ratings, HarmRating(safety_pb2.HARM_CATEGORY_HARASSMENT, Rating.HIGH)]
    judged = policy.judge_own(extra)
    assert judged is not None and len(judged.ratings) == len(TEXT_DEFAULT_CATEGORIES)
    # A category missing: the engine is asked to rate instead (and asked again next time).
    assert policy.judge_own(ratings[:-1]) is None
    assert policy.judge_own(ratings[:-1]) is None
    assert policy.judge_own([*ratings[:-1], ratings[0]]) is None


def test_ratings_that_are_not_values_are_refused_by_name() -> None:
    # An engine written against messages, not HarmRating values, is told what to return.
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    message = Rating(category=VIOLENCE, probability=Rating.HIGH)
    with pytest.raises(TypeError, match=r"HarmRating.*not SafetyRating"):
        policy.judge([message])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"HarmRating.*not SafetyRating"):
        policy.judge_own([message])  # type: ignore[list-item]
