"""Log probabilities for the fake engine's tokens, when a request sets response_logprobs.

Each token of a candidate (tokenizer's tokens) gets a log probability drawn from a seeded
source, so the same request always gets the same numbers. At each step the `top` most likely
tokens are listed, most likely first: the chosen token is usually first and otherwise one of
the others (a sampled token need not be the likeliest); the other entries are words of
prose.WORDS. Every log probability is below zero and the listed tokens' probabilities add up
to less than one, the rest being left to the tokens not listed. With top = 0 each step lists
no alternatives.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence

from textgen.testing.fake_engine.prose import WORDS
from textgen.v1 import generation_pb2

LogprobsResult = generation_pb2.LogprobsResult
# How often the chosen token is not the likeliest of a step (when alternatives are listed).
_SECOND_CHOICE = 0.2


def scored(
    tokens: Sequence[str], top: int, source: random.Random
) -> tuple[float, generation_pb2.LogprobsResult]:
    """The mean log probability of tokens, and each token's log probability with the `top`
    likeliest tokens of its step."""
    result = LogprobsResult()
    total = 0.0
    for token in tokens:
        weights = sorted((source.uniform(0.05, 1.0) for _ in range(max(top, 1))), reverse=True)
        mass = sum(weights) + source.uniform(0.05, 1.0)  # what the unlisted tokens share
        rank = 0
        if top > 1 and source.random() < _SECOND_CHOICE:
            rank = source.randrange(1, top)
        chosen = result.chosen_candidates.add(
            token=token, token_id=token_id(token), log_probability=math.log(weights[rank] / mass)
        )
        total += chosen.log_probability  # as stored (a float), so the sum adds up exactly
        step = result.top_candidates.add()
        if top:
            names = _alternatives(token, top - 1, source)
            names.insert(rank, token)
            for name, weight in zip(names, weights, strict=True):
                step.candidates.add(
                    token=name, token_id=token_id(name), log_probability=math.log(weight / mass)
                )
    result.log_probability_sum = total
    return (total / len(tokens) if tokens else 0.0), result


def token_id(token: str) -> int:
    """A stable id for a token (its CRC-32, kept within int32)."""
    return zlib.crc32(token.encode()) & 0x7FFFFFFF


def _alternatives(token: str, count: int, source: random.Random) -> list[str]:
    """count distinct words other than token."""
    others = [word for word in WORDS if word != token]
    return source.sample(others, count)
