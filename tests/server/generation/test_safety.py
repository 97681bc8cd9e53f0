"""SafetyPolicy: thresholds per category, shared default policies, judging ratings."""

from __future__ import annotations

from textgen.v1 import safety_pb2

from textgen.server.generation.safety import (
    CONTENT_DEFAULT_CATEGORIES,
    CONTENT_SETTABLE_CATEGORIES,
    TEXT_DEFAULT_CATEGORIES,
    TEXT_SETTABLE_CATEGORIES,
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
    ratings = [
        Rating(category=VIOLENCE, probability=Rating.HIGH),
        Rating(category=TOXICITY, probability=Rating.LOW),
    ]
    verdict = policy.judge(ratings)
    assert verdict.blocked
    assert [rating.blocked for rating in verdict.ratings] == [True, False]
    (block,) = verdict.blocks
    assert block.rating.category == VIOLENCE and block.rating.blocked
    assert block.setting.threshold == Setting.BLOCK_MEDIUM_AND_ABOVE
    assert not ratings[0].blocked, "the engine's rating is left as it was"


def test_judge_corrects_a_blocked_flag_the_engine_set() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    engine_says = Rating(category=TOXICITY, probability=Rating.LOW, blocked=True)
    verdict = policy.judge([engine_says])
    assert not verdict.blocked
    assert not verdict.ratings[0].blocked
    assert engine_says.blocked


def test_block_none_and_unscreened_categories_never_block() -> None:
    allow = Setting(category=VIOLENCE, threshold=Setting.BLOCK_NONE)
    policy = SafetyPolicy.build([allow], TEXT_DEFAULT_CATEGORIES)
    high = Rating.HIGH
    verdict = policy.judge(
        [
            Rating(category=VIOLENCE, probability=high),
            Rating(category=safety_pb2.HARM_CATEGORY_HARASSMENT, probability=high),
        ]
    )
    assert not verdict.blocked


def _text_ratings(probabilities: dict[int, int], *, blocked: int | None = None) -> list[Rating]:
    # One rating per text category, in the policy's order; `blocked` flags one of them.
    return [
        Rating(
            category=category,
            probability=probabilities.get(category, Rating.NEGLIGIBLE),  # type: ignore[arg-type]
            blocked=category == blocked,
        )
        for category in TEXT_DEFAULT_CATEGORIES
    ]


def test_judge_own_in_the_policys_order_equals_judge() -> None:
    policy = SafetyPolicy.build([], TEXT_DEFAULT_CATEGORIES)
    for ratings in (
        _text_ratings({}),
        _text_ratings({VIOLENCE: Rating.HIGH}),
        _text_ratings({}, blocked=TOXICITY),  # a flag the engine set, corrected
    ):
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
    extra = [
        *ratings,
        Rating(category=safety_pb2.HARM_CATEGORY_HARASSMENT, probability=Rating.HIGH),
    ]
    judged = policy.judge_own(extra)
    assert judged is not None and len(judged.ratings) == len(TEXT_DEFAULT_CATEGORIES)
    # A category missing: the engine is asked to rate instead.
    assert policy.judge_own(ratings[:-1]) is None
    assert policy.judge_own([*ratings[:-1], ratings[0]]) is None
