"""The fake engine's model-like behaviours seen through the client, on both shells, in the
seed documents' own forms (google-genai's config dicts, Vertex's predict settings)."""

from __future__ import annotations

from typing import Any

from textgen.v1 import generation_pb2

from tests.client.conftest import Api
from textgen.testing.fake_engine.citations import SOURCES

Candidate = generation_pb2.Candidate


def get_current_weather(location: str) -> str:
    """Returns the current weather.

    Args:
      location: The city and state, e.g. San Francisco, CA
    """
    return "sunny"


async def test_seed_function_call_has_arguments_from_the_prompt(live: Api) -> None:
    asked = await live(
        lambda c: c.models.generate_content(
            model="gemini-2.0-flash-001",
            contents="What is the weather like in Boston?",
            config={
                "tools": [get_current_weather],
                "automatic_function_calling": {"disable": True},
            },
        )
    )
    (call,) = asked.function_calls
    assert call.name == "get_current_weather" and dict(call.args) == {"location": "Boston"}
    answered = await live(
        lambda c: c.models.generate_content(
            model="gemini-2.0-flash-001",
            contents="What is the weather like in Boston?",
            config={"tools": [get_current_weather]},
        )
    )
    assert answered.text == "get_current_weather returned result sunny."


async def test_a_long_answer_fills_max_output_tokens(live: Api) -> None:
    response = await live(
        lambda c: c.models.generate_content(
            model="gemini-1.5-flash",
            contents="Write a long essay about lighthouses.",
            config={"max_output_tokens": 120},
        )
    )
    candidate = response.raw.candidates[0]
    assert candidate.finish_reason == Candidate.MAX_TOKENS
    assert response.usage_metadata.candidates_token_count == 120
    words = await live(lambda c: c.models.generate_text("text-bison-001", "Write 40 words."))
    assert len(words.text.split()) == 40


async def test_citations_reach_text_content_and_message_answers(live: Api) -> None:
    prompt = 'Finish the line "To be, or not to be, that is the question"'
    passage = SOURCES[0].passage
    text = await live(lambda c: c.models.generate_text("text-bison-001", prompt))
    (cited,) = text.raw.candidates[0].citation_metadata.citation_sources
    assert text.text[cited.start_index : cited.end_index] == passage
    content = await live(lambda c: c.models.generate_content("gemini-1.5-flash", prompt))
    (source,) = content.raw.candidates[0].citation_metadata.citation_sources
    assert source.uri == SOURCES[0].uri and content.text.startswith(passage)
    chunks = await live.items(
        lambda c: c.models.stream_generate_content("gemini-1.5-flash", prompt)
    )
    assert (
        chunks[-1].raw.candidates[0].citation_metadata
        == content.raw.candidates[0].citation_metadata
    )
    message = await live(lambda c: c.models.generate_message("chat-bison-001", prompt))
    (quoted,) = message.raw.candidates[0].citation_metadata.citation_sources
    assert quoted.uri == SOURCES[0].uri
    assert message.raw.candidates[0].content[quoted.start_index : quoted.end_index] == passage


def config(**settings: Any) -> dict[str, Any]:
    # The seed's typed config, as a dict: temperature above 0 so that seeds matter.
    return {"temperature": 0.9, "top_p": 0.95, "top_k": 20, "max_output_tokens": 100, **settings}


async def test_seed_penalties_and_thinking_have_observable_effects(live: Api) -> None:
    def ask(**settings: Any) -> Any:
        return live(
            lambda c: c.models.generate_content(
                "gemini-2.0-flash-001", "Why is the sky blue?", config=config(**settings)
            )
        )

    seeded = await ask(seed=5, presence_penalty=0.0, frequency_penalty=0.0)
    assert (await ask(seed=5)).text == seeded.text != (await ask(seed=6)).text
    repeated = (await ask(seed=5, frequency_penalty=-1.5)).text
    assert len({word.strip(".!?").lower() for word in repeated.split()}) == 1
    distinct = [
        word.strip(".!?").lower() for word in (await ask(seed=5, presence_penalty=1.0)).text.split()
    ]
    assert len(set(distinct)) == len(distinct)
    thinking = await ask(seed=5, thinking_config={"include_thoughts": True, "thinking_budget": 12})
    assert thinking.usage_metadata.thoughts_token_count == 12
    parts = thinking.raw.candidates[0].content.parts
    assert parts[0].thought and not parts[1].thought
    assert thinking.text == seeded.text  # the answer is the same; the thought comes first
    scored = await ask(seed=5, response_logprobs=True, logprobs=2)
    result = scored.raw.candidates[0].logprobs_result
    assert len(result.chosen_candidates) == scored.usage_metadata.candidates_token_count
    assert all(len(step.candidates) == 2 for step in result.top_candidates)
