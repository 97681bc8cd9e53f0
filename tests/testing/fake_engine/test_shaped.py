"""FakeEngine plain answers shaped by the request: requested lengths, penalties and logit_bias,
recited sources with their citations, and thinking."""

from __future__ import annotations

from collections import Counter
from typing import Any

from textgen.v1.generation_pb2 import Candidate

from textgen.server.engine import GeneratedCandidate
from textgen.testing.fake_engine import citations, lengths, thinking
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input
from textgen.testing.fake_engine.logprobs import token_id
from textgen.testing.fake_engine.plain import asks_more
from textgen.testing.fake_engine.prose import WORDS
from textgen.testing.fake_engine.tokenizer import count_tokens

GEMINI = default_model("models/gemini-2.0-flash-001")
BISON = default_model("models/text-bison-001")


async def answer(prompt: str, **params: Any) -> GeneratedCandidate:
    output = await FakeEngine().generate(generation_input(GEMINI, prompt, **params))
    return output.candidates[0]


async def streamed(prompt: str, **params: Any) -> tuple[str, GeneratedCandidate]:
    items = [item async for item in FakeEngine().stream(generation_input(GEMINI, prompt, **params))]
    text = "".join(p.text for item in items for p in item.candidates[0].parts if not p.thought)
    return text, items[-1].candidates[0]


def words(text: str) -> list[str]:
    return [word.strip(".!?").lower() for word in text.split()]


# --- lengths --------------------------------------------------------------------------------


async def test_a_prompt_asking_for_n_words_gets_exactly_n() -> None:
    for prompt, count in (("Write 120 words about rivers", 120), ("a fifteen-word summary", 15)):
        candidate = await answer(prompt)
        assert len(words(candidate.text())) == count
        assert candidate.finish_reason == Candidate.STOP


async def test_a_prompt_asking_for_n_sentences_gets_n() -> None:
    text = (await answer("Explain it in 7 sentences.")).text()
    assert sum(text.count(mark) for mark in ".!?") == 7


async def test_a_long_answer_fills_up_to_the_cap() -> None:
    uncapped = await answer("Write a long essay about the sea")
    assert len(words(uncapped.text())) == lengths.LONG_WORDS
    capped = await answer("Write a long essay about the sea", max_output_tokens=300)
    assert capped.token_count == 300 == count_tokens(capped.text())
    assert capped.finish_reason == Candidate.MAX_TOKENS
    assert uncapped.text().startswith(capped.text())


async def test_a_huge_request_writes_no_more_than_the_cap() -> None:
    candidate = await answer("Write 900000 words", max_output_tokens=50)
    assert candidate.token_count == 50


async def test_long_answers_stream_as_they_generate() -> None:
    whole = await answer("a detailed answer please", max_output_tokens=200)
    text, last = await streamed("a detailed answer please", max_output_tokens=200)
    assert text == whole.text()
    assert last.finish_reason == whole.finish_reason


async def test_a_plain_prompt_is_answered_as_before() -> None:
    # "word" sends the prompt down the shaped path, which writes the same plain paragraph.
    assert (await answer("Say a word")).text() != ""
    assert len(words((await answer("Tell me a story")).text())) <= 4 * 9


# --- penalties and logit_bias -----------------------------------------------------------------


async def test_presence_penalty_stops_words_repeating() -> None:
    plain = words((await answer("Tell me a story", top_k=48)).text())
    assert max(Counter(plain).values()) > 1  # this answer repeats a word without the penalty
    penalised = words((await answer("Tell me a story", presence_penalty=0.5)).text())
    assert len(set(penalised)) == len(penalised)


async def test_frequency_penalty_evens_out_counts() -> None:
    text = (await answer("Write 200 words", frequency_penalty=1.0, top_k=10)).text()
    counts = Counter(words(text))
    assert max(counts.values()) - min(counts.values()) <= 1


async def test_negative_penalty_repeats_words() -> None:
    text = (await answer("Tell me a story", frequency_penalty=-1.0)).text()
    assert len(set(words(text))) == 1


async def test_logit_bias_bans_or_favours_tokens() -> None:
    banned = (await answer("Write 300 words", logit_bias=(("the", -100.0),))).text()
    assert "the" not in words(banned)
    favoured = (await answer("Tell me a story", logit_bias=(("banana", 5.0),))).text()
    assert set(words(favoured)) == {"banana"}
    by_id = (await answer("Tell me a story", logit_bias=((str(token_id("river")), 5.0),))).text()
    assert set(words(by_id)) == {"river"}


async def test_penalties_are_deterministic() -> None:
    first = await answer("Tell me a story", presence_penalty=1.0, temperature=0.7, seed=3)
    again = await answer("Tell me a story", presence_penalty=1.0, temperature=0.7, seed=3)
    other = await answer("Tell me a story", presence_penalty=1.0, temperature=0.7, seed=4)
    assert first.text() == again.text() != other.text()
    assert all(word in WORDS for word in words(first.text()))


# --- citations -------------------------------------------------------------------------------


async def test_quoting_a_known_source_recites_it_with_a_citation() -> None:
    candidate = await answer('Who wrote "To be, or not to be, that is the question"?')
    text = candidate.text()
    passage = citations.SOURCES[0].passage
    assert text.startswith(passage)
    assert candidate.citation_metadata is not None
    (source,) = candidate.citation_metadata.citation_sources
    assert text[source.start_index : source.end_index] == passage
    assert source.uri == "https://www.gutenberg.org/ebooks/1524"
    assert not source.HasField("license")


async def test_a_licensed_source_carries_its_licence_and_a_cut_keeps_the_span_left() -> None:
    prompt = 'Where is this from: "Permission is hereby granted, free of charge"'
    candidate = await answer(prompt, max_output_tokens=4)
    assert candidate.text() == "Permission is hereby granted"
    assert candidate.citation_metadata is not None
    (source,) = candidate.citation_metadata.citation_sources
    assert (source.start_index, source.end_index) == (0, len(candidate.text()))
    assert source.license == "MIT"


async def test_no_citation_without_a_known_quote() -> None:
    assert (await answer("To be, or not to be, that is the question")).citation_metadata is None
    assert (await answer('Quote "something nobody wrote"')).citation_metadata is None


async def test_a_stream_cites_on_its_final_item() -> None:
    whole = await answer('Continue "Call me Ishmael."')
    text, last = await streamed('Continue "Call me Ishmael."')
    assert text == whole.text()
    assert last.citation_metadata == whole.citation_metadata is not None


async def test_text_models_cite_too() -> None:
    output = await FakeEngine().generate(
        generation_input(BISON, 'Explain "It was the best of times"', system="prefix: >>")
    )
    candidate = output.candidates[0]
    assert candidate.citation_metadata is not None
    (source,) = candidate.citation_metadata.citation_sources
    assert source.start_index == 3  # after the directive's prefix and its space


# --- thinking --------------------------------------------------------------------------------


async def test_thinking_counts_thought_tokens_and_returns_thoughts_when_asked() -> None:
    silent = await answer("Why is the sky blue?", thinking_budget=20)
    assert silent.thoughts_token_count == 20
    assert not any(part.thought for part in silent.parts)
    shown = await answer("Why is the sky blue?", thinking_budget=20, include_thoughts=True)
    thought, reply = shown.parts
    assert thought.thought and thought.text.startswith("Thinking about: Why is the sky blue")
    assert count_tokens(thought.text) == 20
    assert reply.text == silent.text() and shown.token_count == silent.token_count


async def test_thinking_budget_zero_or_none_means_no_thinking() -> None:
    assert (await answer("Hi", thinking_budget=0, include_thoughts=True)).thoughts_token_count == 0
    assert (await answer("Hi")).thoughts_token_count == 0
    default = await answer("Hi", include_thoughts=True)
    assert default.thoughts_token_count == thinking.THOUGHT_TOKENS


async def test_a_stream_sends_the_thought_first() -> None:
    request = generation_input(GEMINI, "Hi", thinking_budget=8, include_thoughts=True)
    items = [item async for item in FakeEngine().stream(request)]
    assert items[0].candidates[0].parts[0].thought
    assert items[-1].candidates[0].thoughts_token_count == 8


def test_every_prompt_that_shapes_an_answer_leaves_the_plain_path() -> None:
    shaping = [
        "Write 3 WORDS", "a 2-sentence reply", "A Long one", "be detailed", "in depth",
        "an essay", 'quote "Call me Ishmael"', "quote “Call me Ishmael”",
    ]  # fmt: skip
    for prompt in shaping:
        assert lengths.requested(prompt) or citations.quoted_source(prompt), prompt
        assert asks_more(prompt), prompt
    assert not asks_more("Write a haiku about gRPC")
