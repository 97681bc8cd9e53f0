"""Screened generation: rate the prompt, run the engine, judge each candidate.

A candidate is judged on the ratings the engine returned with it when they cover every
category the request screens; otherwise the engine's `rate` is asked for its text.

Shared by GenerateText, GenerateMessage and GenerateContent (and their streaming forms);
each servicer method only turns the result into its own response type. A blocked prompt
never reaches the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import NamedTuple

from textgen.server.engine import Engine, GeneratedCandidate, GenerationInput, RatingStream
from textgen.server.generation.safety import SafetyPolicy, Verdict
from textgen.v1 import generation_pb2

SAFETY = generation_pb2.Candidate.SAFETY


class ScreenedCandidate:
    """One candidate (or, when streaming, one candidate's delta) and its safety verdict."""

    __slots__ = ("candidate", "index", "verdict")

    def __init__(self, index: int, candidate: GeneratedCandidate, verdict: Verdict) -> None:
        self.index = index
        self.candidate = candidate
        self.verdict = verdict


class Screened(NamedTuple):
    """A whole answer: the prompt's verdict and every candidate, blocked ones included."""

    prompt: Verdict
    prompt_token_count: int
    candidates: Sequence[ScreenedCandidate] = ()


async def screen_prompt(
    engine: Engine, request: GenerationInput, policy: SafetyPolicy, text: str
) -> Verdict:
    """The prompt's verdict under the policy."""
    return await policy.rate(engine, request.model, text)


async def generate(
    engine: Engine, request: GenerationInput, policy: SafetyPolicy, prompt: Verdict, tokens: int
) -> Screened:
    """Run the engine unless the prompt is blocked, and judge every candidate's text."""
    if prompt.blocked:
        return Screened(prompt, tokens)
    output = await engine.generate(request)
    candidates = []
    for index, candidate in enumerate(output.candidates):
        # An engine that rated its candidate is judged on those ratings, not asked again.
        verdict = policy.judge_own(candidate.safety_ratings)
        if verdict is None:
            verdict = await policy.rate(engine, request.model, candidate.text())
        candidates.append(ScreenedCandidate(index, candidate, verdict))
    return Screened(prompt, output.prompt_token_count or tokens, candidates)


async def stream(
    engine: Engine, request: GenerationInput, policy: SafetyPolicy
) -> AsyncIterator[list[ScreenedCandidate]]:
    """The engine's deltas, judged on each candidate's text so far.

    Each delta is rated as the next piece of its candidate's RatingStream, so the engine
    can rate the new text alone (the cost stays linear in the length of the answer) while
    the verdict is still that of the whole text so far. A candidate is sent until that text
    is blocked. The delta that blocks it is yielded once, with no parts, finish_reason
    SAFETY and the blocking verdict; later deltas of that candidate are dropped.
    """
    texts: dict[int, RatingStream] = {}
    blocked: set[int] = set()
    async for output in engine.stream(request):
        batch: list[ScreenedCandidate] = []
        for index, delta in enumerate(output.candidates):
            if index in blocked:
                continue
            text = texts.get(index)
            if text is None:
                text = texts[index] = RatingStream()
            piece = delta.text()
            verdict = await policy.rate(engine, request.model, piece, stream=text)
            text.earlier.append(piece)
            sent = delta
            if verdict.blocked:
                blocked.add(index)
                sent = GeneratedCandidate(
                    parts=[], finish_reason=SAFETY, token_count=delta.token_count
                )
            batch.append(ScreenedCandidate(index, sent, verdict))
        if batch:
            yield batch
