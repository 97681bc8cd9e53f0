"""FakeEngine.stream: deltas that add up to generate()'s answer."""

from __future__ import annotations

from typing import Any

from textgen.v1 import content_pb2, generation_pb2

from textgen.server.engine import GenerationOutput
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

GEMINI = default_model("models/gemini-1.5-flash")
UNSPECIFIED = generation_pb2.Candidate.FINISH_REASON_UNSPECIFIED


async def collect(engine: FakeEngine, **params: Any) -> list[GenerationOutput]:
    return [item async for item in engine.stream(generation_input(GEMINI, "stream it", **params))]


async def test_deltas_concatenate_to_the_generated_text() -> None:
    engine = FakeEngine()
    request = generation_input(GEMINI, "stream it", candidate_count=3, max_output_tokens=30)
    whole = await engine.generate(request)
    items = await collect(engine, candidate_count=3, max_output_tokens=30)
    assert len(items) > 1
    for index, candidate in enumerate(whole.candidates):
        streamed = "".join(item.candidates[index].text() for item in items)
        assert streamed == candidate.text()


async def test_only_the_final_item_carries_the_outcome() -> None:
    engine = FakeEngine()
    whole = await engine.generate(generation_input(GEMINI, "stream it", max_output_tokens=9))
    *early, final = await collect(engine, max_output_tokens=9)
    assert all(item.candidates[0].finish_reason == UNSPECIFIED for item in early)
    assert all(item.candidates[0].token_count == 0 for item in early)
    expected = whole.candidates[0]
    assert final.candidates[0].finish_reason == generation_pb2.Candidate.MAX_TOKENS
    assert final.candidates[0].token_count == expected.token_count == 9
    assert final.candidates[0].safety_ratings == expected.safety_ratings
    assert final.prompt_token_count == whole.prompt_token_count


async def test_an_empty_answer_still_streams_one_final_item() -> None:
    engine = FakeEngine()
    items = [
        item
        async for item in engine.stream(
            generation_input(GEMINI, "x", system="respond: STOP here", stop_sequences=("STOP",))
        )
    ]
    assert len(items) == 1
    assert items[0].candidates[0].text() == ""
    assert items[0].candidates[0].finish_reason == generation_pb2.Candidate.STOP


async def test_a_function_call_streams_as_one_part() -> None:
    tool = content_pb2.Tool(
        function_declarations=[content_pb2.FunctionDeclaration(name="ping", description="Ping.")]
    )
    request = generation_input(GEMINI, "please ping", tools=[tool])
    items = [item async for item in FakeEngine().stream(request)]
    assert [item.candidates[0].parts[0].function_call.name for item in items] == ["ping"]


async def test_a_long_json_answer_streams_before_it_is_all_written() -> None:
    # An array of 3000 strings (over 10000 tokens): its first delta needs only its start.
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 3000}
    request = generation_input(
        GEMINI, "List words", response_mime_type="application/json", response_schema=schema
    )
    engine = FakeEngine()
    async for item in engine.stream(request):
        first = item.candidates[0].text()
        break
    whole = (await engine.generate(request)).candidates[0].text()
    assert whole.startswith(first)
    assert len(whole) > 100 * len(first)


async def test_cut_answers_stream_as_generated_json_and_stop_sequences_included() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 400}
    for params in ({"max_output_tokens": 37}, {"stop_sequences": ("lantern", '", "')}):
        request = generation_input(
            GEMINI,
            "List words",
            response_mime_type="application/json",
            response_schema=schema,
            candidate_count=2,
            temperature=1.0,
            **params,
        )
        engine = FakeEngine()
        whole = await engine.generate(request)
        items = [item async for item in engine.stream(request)]
        for index, candidate in enumerate(whole.candidates):
            streamed = "".join(item.candidates[index].text() for item in items)
            assert streamed == candidate.text()
            final = items[-1].candidates[index]
            assert (final.finish_reason, final.token_count) == (
                candidate.finish_reason,
                candidate.token_count,
            )
            assert final.safety_ratings == candidate.safety_ratings
