"""The fake engine's most frequent answer, written without the general path's detours.

Most requests get plain prose: paragraphs of the word list (prose.paragraph) that nothing
shapes, cuts or rates above NEGLIGIBLE. The general path (FakeEngine._answers, then
candidates.finished) finds that out step by step, one rule at a time; `plain_prompt` asks
all its questions at once, and `plain_candidates` writes the candidates directly. Both paths
give the same candidates for such a request (a test compares them over many requests).

A request is plain when none of the module docstring's earlier rules applies (no tools, no
tuned adapter, text/plain answers, the last turn without function responses), when nothing
shapes the text (no penalties or logit bias, a prompt without quote marks or a length word),
when nothing changes it afterwards (no system instruction's directives, no stop sequences, a
max_output_tokens no paragraph reaches, no reasoning, no log probabilities), and when the
prompt holds no colon, so no ``echo:`` marker starts the answer.
"""

from __future__ import annotations

from collections.abc import Callable

from textgen.server.engine import GeneratedCandidate, GenerationInput
from textgen.testing.fake_engine import harm
from textgen.testing.fake_engine.candidates import family_categories
from textgen.testing.fake_engine.prose import (
    PARAGRAPH_TOKENS,
    paragraph,
    paragraph_tokens,
    vocabulary,
)
from textgen.v1 import content_pb2, generation_pb2

TEXT_MIME_TYPE = "text/plain"
_STOP = generation_pb2.Candidate.STOP


def asks_more(prompt: str) -> bool:
    """Whether the prompt holds a quote mark or a word a length request uses: a superset of
    what lengths.requested and citations.quoted_source look for, so a prompt without any is
    plain. Substring tests of the lower-cased text: a tenth of what one regex search costs."""
    low = prompt.lower()
    return (
        '"' in low
        or "“" in low
        or "word" in low
        or "sentence" in low
        or "long" in low
        or "detail" in low
        or "essay" in low
        or "depth" in low
    )


def holds_results(content: content_pb2.Content) -> bool:
    """Whether the turn holds function responses (function_calls.responses would find some)."""
    parts = content.parts
    if len(parts) == 1:  # most turns
        return parts[0].HasField("function_response")
    # A list, not a generator: a turn has few parts, and a generator costs more than them.
    return any([part.HasField("function_response") for part in parts])


def plain_prompt(request: GenerationInput) -> str | None:
    """The prompt's text when the request's answers are plain prose (see the module
    docstring), None when the general path must answer it."""
    params = request.params
    if (
        request.tools
        or request.adapter is not None
        or request.system_instruction is not None
        or params.response_mime_type != TEXT_MIME_TYPE
        or params.stop_sequences
        or params.max_output_tokens < PARAGRAPH_TOKENS
        or params.presence_penalty
        or params.frequency_penalty
        or params.logit_bias
        or params.include_thoughts
        or params.thinking_budget
        or params.logprobs is not None
        or not request.contents
        or holds_results(request.contents[-1])
    ):
        return None
    prompt = request.prompt_text()
    if ":" in prompt or asks_more(prompt):
        return None
    return prompt


def plain_candidates(
    request: GenerationInput, draws: Callable[[int], bytes]
) -> list[GeneratedCandidate]:
    """params.candidate_count paragraphs, candidate `index` written from `draws(index)`, each
    whole (finish STOP), counted and rated NEGLIGIBLE for the model's family."""
    params = request.params
    words = vocabulary(params.top_k, params.top_p)
    # A paragraph holds only listed words and sentence endings: no marker names a category,
    # so its ratings are the family's NEGLIGIBLE ones.
    family = family_categories(request.model)
    ratings = harm.unmarked(family)
    found = []
    for index in range(params.candidate_count):
        drawn = draws(index)
        text = paragraph(drawn, words)
        found.append(
            GeneratedCandidate(
                [content_pb2.Part(text=text)],
                _STOP,
                ratings,
                paragraph_tokens(drawn),
            )
        )
    return found
