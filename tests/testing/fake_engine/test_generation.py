"""FakeEngine text generation: determinism, seeds, candidates, limits and stop sequences."""

from __future__ import annotations

from typing import Any

from textgen.v1 import content_pb2, generation_pb2

from textgen.server.engine import Engine
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input
from textgen.testing.fake_engine.prose import MIN_VOCABULARY, WORDS
from textgen.testing.fake_engine.tokenizer import count_tokens, tokens

GEMINI = default_model("models/gemini-1.5-flash")


async def texts(engine: FakeEngine, prompt: str = "Tell me a story.", **params: Any) -> list[str]:
    output = await engine.generate(generation_input(GEMINI, prompt, **params))
    return [candidate.text() for candidate in output.candidates]


async def test_same_request_gives_same_answer() -> None:
    first = await texts(FakeEngine(seed=3))
    second = await texts(FakeEngine(seed=3))
    assert first == second
    assert first[0].strip()


async def test_different_prompts_give_different_answers() -> None:
    engine = FakeEngine()
    assert await texts(engine, "one prompt") != await texts(engine, "another prompt")


async def test_temperature_zero_ignores_every_seed() -> None:
    answers = {
        tuple(await texts(FakeEngine(seed=engine_seed), temperature=0.0, seed=request_seed))
        for engine_seed in (0, 1)
        for request_seed in (None, 7, 8)
    }
    assert len(answers) == 1


async def test_request_seed_changes_a_sampled_answer_reproducibly() -> None:
    engine = FakeEngine()
    seven = await texts(engine, temperature=1.0, seed=7)
    assert seven == await texts(engine, temperature=1.0, seed=7)
    assert seven != await texts(engine, temperature=1.0, seed=8)


async def test_engine_seed_applies_when_the_request_has_none() -> None:
    assert await texts(FakeEngine(seed=1), temperature=1.0) != await texts(
        FakeEngine(seed=2), temperature=1.0
    )
    assert await texts(FakeEngine(seed=1), temperature=1.0, seed=5) == await texts(
        FakeEngine(seed=2), temperature=1.0, seed=5
    )


async def test_candidate_count_gives_distinct_candidates() -> None:
    answers = await texts(FakeEngine(), candidate_count=4, temperature=1.0)
    assert len(answers) == 4
    assert len(set(answers)) == 4


async def test_max_output_tokens_truncates_with_max_tokens() -> None:
    engine = FakeEngine()
    full = (await engine.generate(generation_input(GEMINI, "story"))).candidates[0]
    assert full.finish_reason == generation_pb2.Candidate.STOP
    assert full.token_count > 5

    cut = (
        await engine.generate(generation_input(GEMINI, "story", max_output_tokens=5))
    ).candidates[0]
    assert cut.finish_reason == generation_pb2.Candidate.MAX_TOKENS
    assert cut.token_count == count_tokens(cut.text()) == 5
    assert full.text().startswith(cut.text())


async def test_stop_sequence_cuts_before_its_first_occurrence() -> None:
    engine = FakeEngine()
    full = (await engine.generate(generation_input(GEMINI, "story"))).candidates[0].text()
    stop = full.split()[3]
    output = await engine.generate(generation_input(GEMINI, "story", stop_sequences=(stop, "zzz")))
    candidate = output.candidates[0]
    assert candidate.text() == full[: full.index(stop)]
    assert stop not in candidate.text()
    assert candidate.finish_reason == generation_pb2.Candidate.STOP


async def test_top_k_and_top_p_narrow_the_words() -> None:
    engine = FakeEngine()
    narrow = (await texts(engine, top_k=1, top_p=0.1, temperature=1.0))[0]
    wide = (await texts(engine, top_k=None, top_p=1.0, temperature=1.0))[0]
    assert set(tokens(narrow.lower())) - set(".!?") <= set(WORDS[:MIN_VOCABULARY])
    assert not set(tokens(wide.lower())) <= set(WORDS[:MIN_VOCABULARY]) | set(".!?")


async def test_prompt_token_count_covers_turns_and_system_instruction() -> None:
    turns = [
        content_pb2.Content(role="user", parts=[content_pb2.Part(text="Hi there!")]),
        content_pb2.Content(role="model", parts=[content_pb2.Part(text="Hello.")]),
        content_pb2.Content(role="user", parts=[content_pb2.Part(text="How are you?")]),
    ]
    output = await FakeEngine().generate(generation_input(GEMINI, turns, system="Be brief."))
    assert output.prompt_token_count == 3 + 2 + 4 + 3
    # Parts are counted apart: "wor" and "ld" are two tokens, not the one word they join to.
    split = content_pb2.Content(
        role="user", parts=[content_pb2.Part(text="wor"), content_pb2.Part(text="ld!")]
    )
    output = await FakeEngine().generate(generation_input(GEMINI, [split]))
    assert output.prompt_token_count == 1 + 2


async def test_multi_turn_history_changes_the_answer() -> None:
    last = content_pb2.Content(role="user", parts=[content_pb2.Part(text="And then?")])
    earlier = content_pb2.Content(role="user", parts=[content_pb2.Part(text="Once upon a time")])
    engine = FakeEngine()
    alone = await engine.generate(generation_input(GEMINI, [last]))
    after = await engine.generate(generation_input(GEMINI, [earlier, last]))
    assert alone.candidates[0].text() != after.candidates[0].text()


async def test_fake_engine_satisfies_the_engine_protocol() -> None:
    engine: Engine = FakeEngine()
    request = generation_input(GEMINI, "hi")
    streamed = [item async for item in engine.stream(request)]
    assert streamed and (await engine.generate(request)).candidates
