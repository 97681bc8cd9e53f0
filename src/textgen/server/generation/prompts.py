"""Prompts of every method in the engine's terms: Content turns plus a system instruction.

A text prompt is one user turn. A MessagePrompt's context becomes the system instruction,
and its examples and messages become alternating turns that end with the user's message. A
GenerateContentRequest already has turns. The `*_text` functions give the text that is
counted and safety-rated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from textgen.v1 import content_pb2, message_pb2, model_service_pb2

USER = "user"
MODEL = "model"


class Prompt(NamedTuple):
    """Turns for GenerationInput.contents, and the optional system instruction."""

    contents: list[content_pb2.Content]
    system_instruction: content_pb2.Content | None = None


def text_turn(text: str, role: str = USER) -> content_pb2.Content:
    """One turn holding a single text part."""
    turn = content_pb2.Content(role=role)
    turn.parts.add(text=text)
    return turn


def from_text(text: str) -> Prompt:
    """A text prompt: one user turn."""
    return Prompt([text_turn(text)])


def from_messages(prompt: message_pb2.MessagePrompt) -> Prompt:
    """Context -> system instruction; examples and messages -> turns ending with the user."""
    turns: list[content_pb2.Content] = []
    for example in prompt.examples:
        turns.append(text_turn(example.input.content, USER))
        turns.append(text_turn(example.output.content, MODEL))
    count = len(prompt.messages)
    for index, message in enumerate(prompt.messages):
        # Count back from the last message, which is the user's.
        role = USER if (count - 1 - index) % 2 == 0 else MODEL
        turns.append(text_turn(message.content, role))
    system = text_turn(prompt.context, USER) if prompt.context else None
    return Prompt(turns, system)


def from_content_request(request: model_service_pb2.GenerateContentRequest) -> Prompt:
    """A content request's turns and its system instruction, if it has one."""
    system = request.system_instruction if request.HasField("system_instruction") else None
    return Prompt(list(request.contents), system)


def reply_author(messages: Sequence[message_pb2.Message]) -> str:
    """The author label for the model's reply: whoever spoke before the last message, or
    "1" when the conversation does not say."""
    if len(messages) >= 2 and messages[-2].author != messages[-1].author:
        return messages[-2].author
    return "1"


def contents_text(contents: Iterable[content_pb2.Content]) -> str:
    """The text parts of every turn, one turn per line."""
    return "\n".join(
        "".join(part.text for part in content.parts if part.HasField("text"))
        for content in contents
    )


def prompt_text(prompt: Prompt) -> str:
    """All text the model reads: the system instruction, then every turn."""
    system = [prompt.system_instruction] if prompt.system_instruction is not None else []
    return contents_text([*system, *prompt.contents])


def count_tokens_text(request: model_service_pb2.CountTokensRequest) -> str:
    """What CountTokens counts: its contents, or the whole GenerateContentRequest it carries,
    with the name and description of each function that request declares."""
    if not request.HasField("generate_content_request"):
        return prompt_text(Prompt(list(request.contents)))
    inner = request.generate_content_request
    declared = "\n".join(
        f"{fn.name} {fn.description}" for tool in inner.tools for fn in tool.function_declarations
    )
    text = prompt_text(from_content_request(inner))
    return text + "\n" + declared if declared else text
