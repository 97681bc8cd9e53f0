"""From a FakeEngine answer to a finished candidate: text cut at the stop sequences and at
max_output_tokens, rated for harm, citing what it recites, preceded by reasoning when
thinking_config asks; a function call's candidate; and `Streamed`, one candidate of a stream,
whose parts are made as they are asked for."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeAlias

from textgen._kept import Kept
from textgen.server.engine import GeneratedCandidate, GenerationInput, HarmCategory
from textgen.testing.fake_engine import harm, tokenizer
from textgen.testing.fake_engine.chunker import Chunker
from textgen.v1 import content_pb2, generation_pb2, model_pb2

if TYPE_CHECKING:
    from textgen.testing.fake_engine.citations import Source

# How many tokens each streamed text delta holds at most.
STREAM_CHUNK_TOKENS = 4
# A text answer: the whole text, or (JSON mode) its pieces, written as they are asked for.
Answer: TypeAlias = "str | Iterator[str]"
# The sources a request's text answers recite (see citations).
Cited: TypeAlias = "Sequence[Source]"


def finished(request: GenerationInput, text: str, cited: Cited = ()) -> GeneratedCandidate:
    """A text candidate cut at stop sequences and max_output_tokens, then rated."""
    params = request.params
    if params.stop_sequences:
        stops = [text.find(stop) for stop in params.stop_sequences if stop and stop in text]
        if stops:
            text = text[: min(stops)]
    tokens = tokenizer.count_tokens(text)
    cut = tokens > params.max_output_tokens
    if cut:
        text, _ = tokenizer.truncate(text, params.max_output_tokens)
        tokens = params.max_output_tokens  # truncate keeps exactly that many
    parts = [content_pb2.Part(text=text)]
    return rated(request.model, parts, text, cut=cut, tokens=tokens, cited=cited)


def rated(
    model: model_pb2.Model,
    parts: list[content_pb2.Part],
    text: str,
    *,
    cut: bool,
    tokens: int,
    cited: Cited = (),
) -> GeneratedCandidate:
    """A text candidate with its finish reason (MAX_TOKENS when cut), ratings and, when it
    recites sources, their citations."""
    candidate = GeneratedCandidate(
        parts=parts,
        finish_reason=generation_pb2.Candidate.MAX_TOKENS if cut else generation_pb2.Candidate.STOP,
        safety_ratings=harm.rate(text, categories(model, text)),
        token_count=tokens,
    )
    if cited:
        from textgen.testing.fake_engine.citations import cite  # noqa: PLC0415

        candidate.citation_metadata = cite(cited, text)
    return candidate


def think(request: GenerationInput, targets: Sequence[GeneratedCandidate | Streamed]) -> None:
    """Give each text candidate the reasoning thinking_config asks for (see thinking)."""
    from textgen.testing.fake_engine.thinking import thought  # noqa: PLC0415

    key = (request.model.name, fingerprint_of(request))
    reasoning = thought(request.params, request.prompt_text(), key)
    if reasoning is None:
        return
    for target in targets:
        if isinstance(target, Streamed):
            target.think(reasoning.tokens, reasoning.part)
        elif not any(part.HasField("function_call") for part in target.parts):
            target.thoughts_token_count = reasoning.tokens
            if reasoning.part is not None:
                target.parts.insert(0, reasoning.part)


class Streamed:
    """One candidate of a stream: its parts, each made when asked for, then how it ended."""

    def __init__(
        self, request: GenerationInput, answer: GeneratedCandidate | Answer, cited: Cited = ()
    ) -> None:
        # `outcome` (finish reason, ratings, token count) is known once every part is out.
        self.outcome: GeneratedCandidate
        self.thoughts_token_count = 0
        self._model = request.model
        self._cited = cited
        self._text = True
        if isinstance(answer, GeneratedCandidate):  # a function call, whole already
            self.outcome = answer
            self._parts: Iterator[content_pb2.Part] = iter(answer.parts)
            self._text = False
            return
        params = request.params
        chunker = Chunker(params.stop_sequences, params.max_output_tokens, STREAM_CHUNK_TOKENS)
        fragments = [answer] if isinstance(answer, str) else answer
        self._parts = self._text_parts(chunker, fragments)

    def next_part(self) -> content_pb2.Part | None:
        """The next part, or None after the last."""
        return next(self._parts, None)

    def think(self, tokens: int, part: content_pb2.Part | None) -> None:
        """Reason before a text answer: tokens counted, and part (if any) sent first."""
        if self._text:
            self.thoughts_token_count = tokens
            if part is not None:
                self._parts = itertools.chain([part], self._parts)

    def _text_parts(self, chunker: Chunker, fragments: Iterable[str]) -> Iterator[content_pb2.Part]:
        sent = []
        for chunk in chunker.chunks(fragments):
            sent.append(chunk)
            yield content_pb2.Part(text=chunk)
        text = "".join(sent)
        whole = [content_pb2.Part(text=text)]
        self.outcome = rated(
            self._model, whole, text, cut=chunker.cut, tokens=chunker.tokens, cited=self._cited
        )


def called(model: model_pb2.Model, call: content_pb2.FunctionCall) -> GeneratedCandidate:
    part = content_pb2.Part(function_call=call)
    return GeneratedCandidate(
        parts=[part],
        safety_ratings=harm.rate("", categories(model, "")),
        token_count=tokenizer.count_tokens(part_text(part)),
    )


def categories(model: model_pb2.Model, text: str) -> Sequence[HarmCategory]:
    """The model family's categories, then any other category a marker in text names."""
    family = family_categories(model)
    named = harm.named_categories(text)
    if not named:
        return family
    return [*family, *(category for category in named if category not in family)]


# id(model) -> (the model, its family's categories): the engine rates with the same few
# catalog models again and again, and reading their methods costs more than this lookup.
# The model is held so that its id is not reused while the entry lives.
_FAMILIES: Kept[int, tuple[model_pb2.Model, Sequence[HarmCategory]]] = Kept(256)


def family_categories(model: model_pb2.Model) -> Sequence[HarmCategory]:
    """The categories the model's family is rated for: content models' or text models'."""
    known = _FAMILIES.get(id(model))
    if known is not None and known[0] is model:
        return known[1]
    content = "generateContent" in model.supported_generation_methods
    family = harm.CONTENT_CATEGORIES if content else harm.TEXT_CATEGORIES
    _FAMILIES.keep(id(model), (model, family))
    return family


def part_text(part: content_pb2.Part) -> str:
    """What a part contributes to token counts: its text, or a call or result as JSON."""
    if part.HasField("text"):
        return part.text
    from google.protobuf import json_format  # noqa: PLC0415

    if part.HasField("function_call"):
        return part.function_call.name + json_format.MessageToJson(part.function_call.args)
    if part.HasField("function_response"):
        return part.function_response.name + json_format.MessageToJson(
            part.function_response.response
        )
    return ""


def fingerprint_of(request: GenerationInput) -> bytes:
    """Every turn, then the system instruction (none: an empty Content), serialized."""
    turns = [turn.SerializeToString(deterministic=True) for turn in request.contents]
    system = request.system_instruction
    turns.append(b"" if system is None else system.SerializeToString(deterministic=True))
    return b"\x00".join(turns)
