"""Dataset rows both ways: friendly prompt inputs to DatasetPrompt, stored rows to typed rows.

A prompt row may be given as:

* a str -- a text prompt;
* a list of messages -- a messages prompt; each message is a `Message`, a str (authors
  alternate "0" and "1") or a dict with `author` (or `role`) and `content` (or `text`);
* a dict `{"text": "..."}` or `{"messages": [...]}` -- the JSONL line format;
* a `DatasetPrompt`, kept as it is.

A JSONL file holds one such row per line (a JSON string, or a dict as above).

Rows read back are `PromptRow` (prompt datasets) or `ResultRow` (a batch's result dataset);
each keeps the stored `DatasetRow` at `.raw`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from google.rpc import status_pb2

from textgen.v1 import dataset_pb2, message_pb2

__all__ = [
    "JsonlError",
    "PromptInput",
    "PromptRow",
    "ResultRow",
    "Row",
    "from_row",
    "jsonl_prompts",
    "prompt_text",
    "to_prompt",
]

MessageLike: TypeAlias = str | message_pb2.Message | Mapping[str, Any]
PromptInput: TypeAlias = str | dataset_pb2.DatasetPrompt | Sequence[MessageLike] | Mapping[str, Any]


def _message(value: MessageLike, position: int) -> message_pb2.Message:
    if isinstance(value, message_pb2.Message):
        return value
    if isinstance(value, str):
        return message_pb2.Message(author=str(position % 2), content=value)
    if isinstance(value, Mapping):
        author = value.get("author", value.get("role", str(position % 2)))
        content = value.get("content", value.get("text"))
        if not isinstance(content, str) or not isinstance(author, str):
            raise ValueError(
                "a message needs a string `content` (or `text`) and an optional string "
                f"`author` (or `role`), not {dict(value)!r}"
            )
        return message_pb2.Message(author=author, content=content)
    raise TypeError(f"cannot use {type(value).__name__} as a message")


def to_prompt(value: PromptInput) -> dataset_pb2.DatasetPrompt:
    """One DatasetPrompt from any accepted row form (see the module docstring)."""
    if isinstance(value, dataset_pb2.DatasetPrompt):
        return value
    if isinstance(value, str):
        return dataset_pb2.DatasetPrompt(text=value)
    if isinstance(value, Mapping):
        if isinstance(value.get("text"), str) and "messages" not in value:
            return dataset_pb2.DatasetPrompt(text=value["text"])
        messages = value.get("messages")
        if isinstance(messages, Sequence) and not isinstance(messages, str) and "text" not in value:
            return to_prompt(messages)
        raise ValueError(
            'a row dict needs either "text" (a string) or "messages" (a list), '
            f"not {sorted(value)!r}"
        )
    if isinstance(value, Sequence):
        listed = [_message(m, i) for i, m in enumerate(value)]
        if not listed:
            raise ValueError("a messages row needs at least one message")
        return dataset_pb2.DatasetPrompt(messages=dataset_pb2.MessageList(messages=listed))
    raise TypeError(f"cannot use {type(value).__name__} as a dataset row")


def prompt_text(prompt: dataset_pb2.DatasetPrompt) -> str:
    """A prompt as one string: its text, or its messages' contents one per line."""
    if prompt.WhichOneof("prompt") == "messages":
        return "\n".join(m.content for m in prompt.messages.messages)
    return prompt.text


@dataclass(frozen=True)
class PromptRow:
    """A row of a prompt dataset: `text` for a text prompt, else `messages`."""

    index: int
    prompt: dataset_pb2.DatasetPrompt
    raw: dataset_pb2.DatasetRow = field(repr=False, compare=False)

    @property
    def text(self) -> str | None:
        """The text prompt, or None for a messages prompt."""
        return self.prompt.text if self.prompt.WhichOneof("prompt") == "text" else None

    @property
    def messages(self) -> list[message_pb2.Message]:
        """The messages of a messages prompt ([] for a text prompt)."""
        return list(self.prompt.messages.messages)


@dataclass(frozen=True)
class ResultRow:
    """A row of a batch's result dataset: its input and either a completion or an error."""

    index: int
    input: dataset_pb2.DatasetPrompt
    completion: str | None
    error: status_pb2.Status | None
    input_token_count: int
    completion_token_count: int
    raw: dataset_pb2.DatasetRow = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the row has a completion."""
        return self.error is None

    @property
    def input_text(self) -> str:
        """The input prompt as one string (see `prompt_text`)."""
        return prompt_text(self.input)

    def json(self) -> Any:  # noqa: ANN401  (any JSON value)
        """The completion parsed as JSON (for json_object / json_schema batches)."""
        if self.completion is None:
            raise ValueError(f"row {self.index} failed and has no completion")
        return json.loads(self.completion)


Row: TypeAlias = PromptRow | ResultRow


def from_row(row: dataset_pb2.DatasetRow) -> Row:
    """The typed view of a stored row."""
    if row.WhichOneof("data") == "result":
        result = row.result
        outcome = result.WhichOneof("outcome")
        return ResultRow(
            index=row.index,
            input=result.input,
            completion=result.completion if outcome == "completion" else None,
            error=result.error if outcome == "error" else None,
            input_token_count=result.input_token_count,
            completion_token_count=result.completion_token_count,
            raw=row,
        )
    return PromptRow(index=row.index, prompt=row.prompt, raw=row)


class JsonlError(ValueError):
    """A line of a JSONL dataset file is not a row; `path` and `line` say where."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}, line {line}: {reason}")


def jsonl_prompts(lines: Iterable[str], path: str) -> Iterator[dataset_pb2.DatasetPrompt]:
    """The prompts of a JSONL file's lines, one at a time; blank lines are skipped.

    Each line is `{"text": ...}`, `{"messages": [...]}` or a bare JSON string; a bad line
    raises JsonlError naming `path` and the line number.
    """
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            prompt = to_prompt(json.loads(line))
        except (ValueError, TypeError) as bad:
            raise JsonlError(path, number, str(bad)) from bad
        yield prompt
