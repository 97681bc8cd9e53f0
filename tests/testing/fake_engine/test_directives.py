"""System-instruction directives: respond, uppercase, lowercase and prefix."""

from __future__ import annotations

from typing import Any

from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.directives import Directives
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input, user_turn

GEMINI = default_model("models/gemini-1.5-flash")


async def answer(system: str, prompt: str = "Say something.", **params: Any) -> str:
    request = generation_input(GEMINI, prompt, system=system, **params)
    return (await FakeEngine().generate(request)).candidates[0].text()


async def test_respond_fixes_the_answer() -> None:
    assert await answer("respond: The capital is Paris.") == "The capital is Paris."


async def test_uppercase_and_lowercase_change_the_case() -> None:
    upper = await answer("Always answer in UPPERCASE.")
    lower = await answer("Please use lowercase")
    assert upper == upper.upper() and upper != upper.lower()
    assert lower == lower.lower() and lower != lower.upper()


async def test_prefix_is_kept_as_written_after_the_case_change() -> None:
    text = await answer("uppercase\nprefix: Answer:", "x")
    assert text.startswith("Answer: ")
    assert text.removeprefix("Answer: ") == text.removeprefix("Answer: ").upper()


async def test_directives_combine_and_limits_apply_afterwards() -> None:
    # ">" and ">" are a token each, so four tokens end after "there".
    text = await answer("prefix: >>\nrespond: Hello There World\nlowercase", max_output_tokens=4)
    assert text == ">> hello there"


async def test_a_case_word_inside_a_respond_line_is_not_a_directive() -> None:
    assert await answer("respond: Mixed Case uppercase") == "Mixed Case uppercase"


def test_no_instruction_means_no_change() -> None:
    assert Directives.parse(None).apply("As Is") == "As Is"
    assert Directives.parse(user_turn("Be helpful.")).apply("As Is") == "As Is"
