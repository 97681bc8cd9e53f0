"""The plain lane: the requests it answers, and answers equal to the general path's."""

from __future__ import annotations

import pytest
from textgen.v1 import content_pb2

from textgen.server.engine import GenerationInput, GenerationOutput
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input, user_turn
from textgen.testing.fake_engine.plain import holds_results, plain_prompt
from textgen.testing.fake_engine.prose import (
    PARAGRAPH_TOKENS,
    WORDS,
    digest,
    paragraph,
    paragraph_tokens,
)
from textgen.testing.fake_engine.tokenizer import count_tokens

BISON = default_model("models/text-bison-001")
GEMINI = default_model("models/gemini-1.5-flash")
PROMPTS = ["Write a haiku about gRPC", "hi", "Tell me about rivers.", "Ünïcode prompt ✓", ""]


def answered(output: GenerationOutput) -> list[object]:
    found: list[object] = [
        (
            [part.SerializeToString() for part in candidate.parts],
            candidate.finish_reason,
            tuple(candidate.safety_ratings),
            candidate.token_count,
            candidate.citation_metadata,
            candidate.logprobs_result,
            candidate.thoughts_token_count,
        )
        for candidate in output.candidates
    ]
    found.append(output.prompt_token_count)
    return found


def plain_requests() -> list[GenerationInput]:
    requests = []
    for model in (BISON, GEMINI):
        for prompt in PROMPTS[:-1]:
            for params in (
                {},
                {"candidate_count": 3},
                {"temperature": 0.0},
                {"seed": 7},
                {"top_k": 5, "top_p": 0.5},
                {"max_output_tokens": PARAGRAPH_TOKENS},
            ):
                requests.append(generation_input(model, prompt, **params))
        # Several turns: the prompt is the last one, the fingerprint all of them.
        turns = [user_turn("first"), user_turn("an answer", role="model"), user_turn("next")]
        requests.append(generation_input(model, turns))
        # Turns whose parts are not all text, which count apart from the prompt's text.
        call = content_pb2.Part(function_call=content_pb2.FunctionCall(name="lookup"))
        requests.append(generation_input(model, [user_turn(call)]))
        requests.append(generation_input(model, [user_turn("a", call, "b")]))
    return requests


@pytest.mark.parametrize("request_", plain_requests())
def test_the_lane_answers_as_the_general_path_does(request_: GenerationInput) -> None:
    engine = FakeEngine(seed=3)
    assert plain_prompt(request_) is not None
    lane = engine._generate(request_)
    general = engine._general(request_)
    assert answered(lane) == answered(general)
    assert len(lane.candidates) == request_.params.candidate_count


CALL = content_pb2.Part(function_response=content_pb2.FunctionResponse(name="f"))
TOOL = content_pb2.Tool(function_declarations=[content_pb2.FunctionDeclaration(name="f")])


@pytest.mark.parametrize(
    ("why", "request_"),
    [
        ("tools", generation_input(GEMINI, "hi", tools=[TOOL])),
        ("a tuned adapter", generation_input(BISON, "hi", adapter=object())),
        ("a system instruction", generation_input(GEMINI, "hi", system="Answer in capitals.")),
        ("JSON", generation_input(GEMINI, "hi", response_mime_type="application/json")),
        ("stop sequences", generation_input(BISON, "hi", stop_sequences=("the",))),
        ("a cut", generation_input(BISON, "hi", max_output_tokens=PARAGRAPH_TOKENS - 1)),
        ("a presence penalty", generation_input(BISON, "hi", presence_penalty=0.5)),
        ("a frequency penalty", generation_input(BISON, "hi", frequency_penalty=-0.5)),
        ("logit bias", generation_input(BISON, "hi", logit_bias=(("the", -100.0),))),
        ("reasoning", generation_input(GEMINI, "hi", thinking_budget=64)),
        ("thoughts", generation_input(GEMINI, "hi", include_thoughts=True)),
        ("log probabilities", generation_input(GEMINI, "hi", logprobs=0)),
        ("no turns", generation_input(GEMINI, [])),
        ("function results", generation_input(GEMINI, [user_turn(CALL)])),
        ("a marker", generation_input(BISON, "echo:unsafe:violence:high hi")),
        ("a length", generation_input(BISON, "Write 30 words")),
        ("a quotation", generation_input(BISON, 'What follows "To be or not"?')),
    ],
)
def test_what_leaves_the_lane(why: str, request_: GenerationInput) -> None:
    assert plain_prompt(request_) is None, why


def test_an_empty_prompt_is_plain_too() -> None:
    request = generation_input(BISON, PROMPTS[-1])
    engine = FakeEngine()
    assert plain_prompt(request) == ""
    assert answered(engine._generate(request)) == answered(engine._general(request))


def test_paragraph_tokens_counts_what_paragraph_writes() -> None:
    for size in (4, 5, 17, 33, len(WORDS)):
        words = WORDS[:size]
        for key in range(400):
            drawn = digest("model", key, size)
            text = paragraph(drawn, words)
            assert paragraph_tokens(drawn) == count_tokens(text)
            assert paragraph_tokens(drawn) <= PARAGRAPH_TOKENS


def test_a_turn_holds_results_when_any_part_is_a_function_response() -> None:
    result = content_pb2.Part(function_response=content_pb2.FunctionResponse(name="f"))
    text = content_pb2.Part(text="hi")
    for parts, expected in (
        ([], False),
        ([text], False),
        ([result], True),
        ([text, text], False),
        ([text, result], True),
        ([result, text], True),
    ):
        assert holds_results(content_pb2.Content(role="user", parts=parts)) is expected, parts
