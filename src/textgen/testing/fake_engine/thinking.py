"""Thinking: what GenerationConfig.thinking_config does to the fake engine's text answers.

The model reasons before each text answer (plain or JSON; not before a function call) when
thinking_config sets include_thoughts, or a thinking_budget other than 0; otherwise (no
thinking_config, or neither field set) it does not think. Then:

* it spends ``min(thinking_budget, THOUGHT_TOKENS)`` tokens (THOUGHT_TOKENS when no budget is
  set, or -1, the "as the model likes" budget), reported as the candidate's
  thoughts_token_count and so as usage_metadata.thoughts_token_count; they are not part of
  the candidate's token_count, and the answer itself is unchanged;
* with include_thoughts, the candidate's parts start with one thought part (``thought``
  set) holding that reasoning, exactly that many tokens long: ``Thinking about: `` and the
  prompt's first words, then seeded words. A stream sends it as its first delta.
"""

from __future__ import annotations

from dataclasses import dataclass

from textgen.server.engine import SamplingParams
from textgen.testing.fake_engine import tokenizer
from textgen.testing.fake_engine.prose import WORDS, phrase, seeded
from textgen.v1 import content_pb2

# The most tokens one answer's reasoning takes.
THOUGHT_TOKENS = 64
# How many of the prompt's words the reasoning repeats.
_ECHOED = 8


@dataclass(frozen=True)
class Thought:
    """The reasoning behind every candidate of one request."""

    tokens: int
    part: content_pb2.Part | None  # None unless include_thoughts asked for it


def thought(params: SamplingParams, prompt: str, key: object) -> Thought | None:
    """The reasoning for a request with these params and prompt (key seeds its words);
    None when the request asks for no thinking."""
    budget = params.thinking_budget
    if budget == 0 or (budget is None and not params.include_thoughts):
        return None
    tokens = THOUGHT_TOKENS if budget is None or budget < 0 else min(budget, THOUGHT_TOKENS)
    if not params.include_thoughts:
        return Thought(tokens, None)
    echoed = " ".join(tokenizer.tokens(prompt)[:_ECHOED])
    draft = f"Thinking about: {echoed}. {phrase(seeded(key, 'thought'), WORDS, tokens)}"
    text, _ = tokenizer.truncate(draft, tokens)
    return Thought(tokens, content_pb2.Part(text=text, thought=True))
