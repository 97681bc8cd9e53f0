"""`client.chats`: multi-turn conversations on generate_content that keep their history."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from textgen import _convert
from textgen._calls import Program, Streamed
from textgen._convert import ContentsInput
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources import _content
from textgen.resources._base import AsyncStream, Resource
from textgen.resources._content import model_name
from textgen.types import ConfigInput, ContentResponse
from textgen.v1 import content_pb2

# Earlier turns: Content protos, or dicts such as {"role": "model", "parts": "Hello"}.
HistoryInput: TypeAlias = Sequence[content_pb2.Content | Mapping[str, Any]]


def merge_chunks(chunks: Sequence[ContentResponse]) -> content_pb2.Content:
    """The model turn a stream produced: the first candidate's parts, adjacent texts joined."""
    merged = content_pb2.Content(role="model")
    for chunk in chunks:
        if not chunk.raw.candidates:
            continue
        for part in chunk.raw.candidates[0].content.parts:
            last = merged.parts[-1] if merged.parts else None
            if (
                last is not None
                and part.WhichOneof("data") == "text"
                and last.WhichOneof("data") == "text"
                and last.thought == part.thought
            ):
                last.text += part.text
            else:
                merged.parts.append(part)
    return merged


class ChatSession:
    """A conversation's state and the plans that extend it; Chat and AsyncChat run them."""

    def __init__(self, model: str, config: ConfigInput, history: HistoryInput) -> None:
        self.model = model_name(model)
        self.config = config
        self._history = _convert.to_history(history)

    @property
    def history(self) -> list[content_pb2.Content]:
        """Every turn so far, oldest first (a copy)."""
        return list(self._history)

    def get_history(self) -> list[content_pb2.Content]:
        """Every turn so far, oldest first (a copy); google-genai's name for `history`."""
        return self.history

    def _sending(self, message: ContentsInput, config: ConfigInput) -> Program[ContentResponse]:
        sent = _convert.to_contents(message)
        prepared = _convert.prepare(config if config is not None else self.config)
        response = yield from _content.generate(self.model, [*self._history, *sent], prepared)
        answer = response.raw.candidates[0].content if response.raw.candidates else None
        if response.automatic_function_calling_history:
            self._history = list(response.automatic_function_calling_history)
        else:
            self._history.extend(sent)
        if answer is not None:
            self._history.append(_as_model(answer))
        return response

    def _streaming(
        self, message: ContentsInput, config: ConfigInput
    ) -> tuple[list[content_pb2.Content], Streamed[ContentResponse]]:
        sent = _convert.to_contents(message)
        prepared = _convert.prepare(config if config is not None else self.config)
        return sent, _content.stream(self.model, [*self._history, *sent], prepared)

    def _record(self, sent: list[content_pb2.Content], chunks: list[ContentResponse]) -> None:
        self._history.extend(sent)
        self._history.append(merge_chunks(chunks))


def _as_model(content: content_pb2.Content) -> content_pb2.Content:
    turn = content_pb2.Content()
    turn.CopyFrom(content)
    turn.role = turn.role or "model"
    return turn


class Chat(ChatSession):
    """A conversation (blocking). History grows only when a message gets an answer."""

    def __init__(
        self,
        runner: SyncRunner,
        model: str,
        config: ConfigInput,
        history: HistoryInput,
    ) -> None:
        super().__init__(model, config, history)
        self._runner = runner

    def send_message(
        self, message: ContentsInput, *, config: ConfigInput = None
    ) -> ContentResponse:
        """Send one user turn; the answer (and any function-call rounds) join the history."""
        return self._runner.run(self._sending(message, config))

    def send_message_stream(
        self, message: ContentsInput, *, config: ConfigInput = None
    ) -> Iterator[ContentResponse]:
        """Send one user turn and yield the answer in pieces; recorded once fully read."""
        sent, plan = self._streaming(message, config)
        chunks = []
        for chunk in self._runner.stream(plan):
            chunks.append(chunk)
            yield chunk
        self._record(sent, chunks)


class AsyncChat(ChatSession):
    """A conversation (asyncio). History grows only when a message gets an answer."""

    def __init__(
        self,
        runner: AsyncRunner,
        model: str,
        config: ConfigInput,
        history: HistoryInput,
    ) -> None:
        super().__init__(model, config, history)
        self._runner = runner

    async def send_message(
        self, message: ContentsInput, *, config: ConfigInput = None
    ) -> ContentResponse:
        """Send one user turn; the answer (and any function-call rounds) join the history."""
        return await self._runner.run(self._sending(message, config))

    def send_message_stream(
        self, message: ContentsInput, *, config: ConfigInput = None
    ) -> AsyncStream[ContentResponse]:
        """Send one user turn and yield the answer in pieces; recorded once fully read.

        Use it with `async for`, awaited first or not."""
        return AsyncStream(self._stream(message, config))

    async def _stream(
        self, message: ContentsInput, config: ConfigInput
    ) -> AsyncIterator[ContentResponse]:
        sent, plan = self._streaming(message, config)
        chunks = []
        async for chunk in self._runner.stream(plan):
            chunks.append(chunk)
            yield chunk
        self._record(sent, chunks)


class Chats(Resource[SyncRunner]):
    """Starts conversations (blocking)."""

    def create(
        self,
        model: str,
        *,
        config: ConfigInput = None,
        history: HistoryInput = (),
    ) -> Chat:
        """A new conversation with `model`, optionally continuing `history` (Content protos
        or turn dicts)."""
        return Chat(self._runner, model, config, history)


class AsyncChats(Resource[AsyncRunner]):
    """Starts conversations (asyncio); creating one needs no await."""

    def create(
        self,
        model: str,
        *,
        config: ConfigInput = None,
        history: HistoryInput = (),
    ) -> AsyncChat:
        """A new conversation with `model`, optionally continuing `history` (Content protos
        or turn dicts)."""
        return AsyncChat(self._runner, model, config, history)
