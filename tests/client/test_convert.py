"""How `contents` arguments become Content turns (the familiar SDK rules)."""

from __future__ import annotations

import pytest
from textgen.v1 import content_pb2

from textgen._convert import to_contents

Part = content_pb2.Part
Content = content_pb2.Content


def _call(name: str) -> Part:
    return Part(function_call=content_pb2.FunctionCall(name=name))


def _shape(contents: list[Content]) -> list[tuple[str, int]]:
    return [(c.role, len(c.parts)) for c in contents]


def test_a_string_is_one_user_turn() -> None:
    (turn,) = to_contents("hi")
    assert turn.role == "user" and turn.parts[0].text == "hi"


def test_a_list_of_strings_is_one_user_turn() -> None:
    assert _shape(to_contents(["a", "b"])) == [("user", 2)]


def test_a_content_is_kept() -> None:
    given = Content(role="model", parts=[Part(text="x")])
    assert to_contents(given) == [given]
    assert to_contents([given, given]) == [given, given]


def test_function_calls_form_a_model_turn() -> None:
    assert _shape(to_contents(_call("f"))) == [("model", 1)]
    assert _shape(to_contents([_call("f"), _call("g")])) == [("model", 2)]


def test_mixed_parts_group_by_kind() -> None:
    mixed: list[str | Part] = ["q", Part(text="r"), _call("f"), _call("g"), "s"]
    assert _shape(to_contents(mixed)) == [("user", 2), ("model", 2), ("user", 1)]


def test_nested_list_is_its_own_user_turn() -> None:
    given = Content(role="model", parts=[Part(text="x")])
    assert _shape(to_contents([["a", "b"], given, "c"])) == [("user", 2), ("model", 1), ("user", 1)]


def test_bad_input_is_rejected() -> None:
    with pytest.raises(TypeError):
        to_contents([3])  # type: ignore[list-item]
