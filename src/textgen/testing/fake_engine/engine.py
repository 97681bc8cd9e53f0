"""FakeEngine: a deterministic, instant Engine whose behaviour tests can predict and steer.

How each candidate is answered, first rule that applies (modules named here are beside this
one in textgen.testing.fake_engine):

1. A function call, when the function_calls module says so.
2. A tuned adapter's memorised output, when the prompt is one of its training inputs (in JSON
   mode, only if that output is itself valid JSON).
3. In JSON mode (``response_mime_type == "application/json"``), JSON that conforms to
   ``response_schema`` (see json_values), or ``{"answer": "..."}`` without one.
4. When the last turn holds function responses, a sentence stating what they returned.
5. Pseudo-text from a fixed word list, seeded by the model name, the whole prompt, the
   candidate index and, when temperature > 0, ``params.seed`` or else the engine's seed. So
   temperature 0 ignores seeds, and candidates differ from one another. ``top_k`` and
   ``top_p`` narrow the word list. ``echo:unsafe:...`` markers in the prompt start the
   answer (see harm).

Outside JSON mode, text answers then follow the system instruction's directives
(directives). Every text answer is cut just before the first stop sequence
(finish STOP), then to max_output_tokens tokens (finish MAX_TOKENS), counted with
the tokenizer. Candidates are rated with harm for the model's
family of categories (content or text methods) plus any category a marker names.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence

from google.protobuf import json_format

from textgen.server.engine import (
    FinishReason,
    GeneratedCandidate,
    GenerationInput,
    GenerationOutput,
    RatingStream,
    TuningEvent,
    TuningParams,
    TuningProgress,
    TuningResult,
)
from textgen.testing.fake_engine import function_calls, harm, tokenizer
from textgen.testing.fake_engine.catalog import DEFAULT_MODELS, copy_model
from textgen.testing.fake_engine.catalog import embedding_dimension as catalog_dimension
from textgen.testing.fake_engine.directives import Directives
from textgen.testing.fake_engine.embeddings import embed_text, fit
from textgen.testing.fake_engine.json_values import value_for
from textgen.testing.fake_engine.memorizer import Memorizer, TunedAdapter
from textgen.testing.fake_engine.prose import paragraph, seeded, vocabulary
from textgen.v1 import content_pb2, generation_pb2, model_pb2, safety_pb2

JSON_MIME_TYPE = "application/json"
# Without a response_schema, JSON mode answers an object with one string member.
DEFAULT_JSON_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}
# How many tokens each streamed text delta holds at most.
STREAM_CHUNK_TOKENS = 4


class FakeEngine:
    """An Engine that answers instantly and reproducibly; see the module docstring.

    Its work is pure CPU and bounded by the model's limits, so it runs on the event loop in
    one piece per call: a generation or a rating takes well under a millisecond for a
    typical prompt, a stream yields to the loop between deltas, and tuning computes one
    step each time the job asks for the next.
    """

    def __init__(self, seed: int = 0, catalog: Sequence[model_pb2.Model] | None = None) -> None:
        self.seed = seed
        chosen = DEFAULT_MODELS if catalog is None else catalog
        self._models = [copy_model(model) for model in chosen]

    def models(self) -> Sequence[model_pb2.Model]:
        """The catalog this engine was built with."""
        return self._models

    def embedding_dimension(self, model: model_pb2.Model) -> int:
        """The vector length for model, from textgen.testing.fake_engine.catalog."""
        return catalog_dimension(model)

    async def count_tokens(self, model: model_pb2.Model, text: str) -> int:
        """Tokens in text, by textgen.testing.fake_engine.tokenizer (the same for every model)."""
        return tokenizer.count_tokens(text)

    async def rate(
        self,
        model: model_pb2.Model,
        text: str,
        categories: Sequence[harm.HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> list[safety_pb2.SafetyRating]:
        """Ratings from the markers textgen.testing.fake_engine.harm documents; a stream's
        pieces are scanned once each (harm.RunningRating)."""
        if stream is None:
            return harm.rate(text, categories)
        if not isinstance(stream.memo, harm.RunningRating):
            stream.memo = harm.RunningRating()
        return stream.memo.add(text, categories)

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        """params.candidate_count candidates, by the rules in the module docstring."""
        return self._generate(request)

    async def stream(self, request: GenerationInput) -> AsyncIterator[GenerationOutput]:
        """generate()'s answer in deltas of at most STREAM_CHUNK_TOKENS tokens per candidate.

        Every item lists every candidate; a candidate with nothing new has no parts. Only the
        final item carries finish reasons, ratings and token counts.
        """
        output = self._generate(request)
        pieces = [_pieces(candidate) for candidate in output.candidates]
        steps = max([1, *map(len, pieces)])
        for step in range(steps):
            final = step == steps - 1
            await asyncio.sleep(0)
            yield GenerationOutput(
                candidates=[
                    GeneratedCandidate(
                        parts=parts[step : step + 1],
                        finish_reason=candidate.finish_reason if final else _UNSPECIFIED,
                        safety_ratings=list(candidate.safety_ratings) if final else [],
                        token_count=candidate.token_count if final else 0,
                    )
                    for candidate, parts in zip(output.candidates, pieces, strict=True)
                ],
                prompt_token_count=output.prompt_token_count,
            )

    async def embed(
        self,
        model: model_pb2.Model,
        texts: Sequence[str],
        *,
        task_type: int = 0,
        title: str | None = None,
        dimensionality: int | None = None,
    ) -> list[list[float]]:
        """Unit vectors from the embeddings module, re-normalised after truncation."""
        dimension = self.embedding_dimension(model)
        return [
            fit(
                embed_text(model.name, dimension, text, task_type=task_type, title=title),
                dimensionality,
            )
            for text in texts
        ]

    async def tune(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> AsyncIterator[TuningEvent]:
        """Steps of textgen.testing.fake_engine.memorizer (decaying loss), then its adapter
        (verbatim recall): batch_size examples a step, every example once an epoch."""
        memory = Memorizer(base_model, examples, params)
        step = 0
        for epoch in range(1, params.epoch_count + 1):
            for start in range(0, len(examples), params.batch_size):
                step += 1
                batch = examples[start : start + params.batch_size]
                yield TuningProgress(step, epoch, memory.step(step, epoch, batch))
        yield TuningResult(memory.finish())

    def _generate(self, request: GenerationInput) -> GenerationOutput:
        call = function_calls.plan_call(request.contents, request.tools, request.tool_config)
        directives = Directives.parse(request.system_instruction)
        candidates = [
            _called(request.model, call)
            if call is not None
            else _finished(request, self._text(request, index, directives))
            for index in range(request.params.candidate_count)
        ]
        return GenerationOutput(candidates=candidates, prompt_token_count=_prompt_tokens(request))

    def _text(self, request: GenerationInput, index: int, directives: Directives) -> str:
        params = request.params
        json_mode = params.response_mime_type == JSON_MIME_TYPE
        recalled = _recall(request, json_mode=json_mode)
        if recalled is not None:
            return recalled if json_mode else directives.apply(recalled)
        words = vocabulary(params.top_k, params.top_p)
        if json_mode:
            schema = params.response_schema or DEFAULT_JSON_SCHEMA
            return json.dumps(value_for(schema, self._source(request, index), words))
        last = request.contents[-1] if request.contents else content_pb2.Content()
        if results := function_calls.responses(last):
            return directives.apply(function_calls.describe(results))
        markers = harm.echoed_markers(request.prompt_text())
        return directives.apply(
            " ".join([*markers, paragraph(self._source(request, index), words)])
        )

    def _source(self, request: GenerationInput, index: int) -> random.Random:
        """The random source for one candidate; seeds matter only when temperature > 0."""
        params = request.params
        seed = params.seed if params.seed is not None else self.seed
        sampled = seed if params.temperature > 0 else None
        return seeded(request.model.name, _fingerprint(request), index, sampled)


_UNSPECIFIED: FinishReason = generation_pb2.Candidate.FINISH_REASON_UNSPECIFIED


def _recall(request: GenerationInput, *, json_mode: bool) -> str | None:
    if not isinstance(request.adapter, TunedAdapter):
        return None
    recalled = request.adapter.recall(request.prompt_text())
    if recalled is not None and json_mode and not _is_json(recalled):
        return None
    return recalled


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _finished(request: GenerationInput, text: str) -> GeneratedCandidate:
    """A text candidate cut at stop sequences and max_output_tokens, then rated."""
    params = request.params
    finish: FinishReason = generation_pb2.Candidate.STOP
    stops = [text.find(stop) for stop in params.stop_sequences if stop and stop in text]
    if stops:
        text = text[: min(stops)]
    text, cut = tokenizer.truncate(text, params.max_output_tokens)
    if cut:
        finish = generation_pb2.Candidate.MAX_TOKENS
    return GeneratedCandidate(
        parts=[content_pb2.Part(text=text)],
        finish_reason=finish,
        safety_ratings=harm.rate(text, _categories(request.model, text)),
        token_count=tokenizer.count_tokens(text),
    )


def _called(model: model_pb2.Model, call: content_pb2.FunctionCall) -> GeneratedCandidate:
    part = content_pb2.Part(function_call=call)
    return GeneratedCandidate(
        parts=[part],
        safety_ratings=harm.rate("", _categories(model, "")),
        token_count=tokenizer.count_tokens(_part_text(part)),
    )


def _categories(model: model_pb2.Model, text: str) -> list[harm.HarmCategory]:
    """The model family's categories, then any other category a marker in text names."""
    content = "generateContent" in model.supported_generation_methods
    family = harm.CONTENT_CATEGORIES if content else harm.TEXT_CATEGORIES
    return [
        *family,
        *(category for category in harm.named_categories(text) if category not in family),
    ]


def _prompt_tokens(request: GenerationInput) -> int:
    turns = list(request.contents)
    if request.system_instruction is not None:
        turns.append(request.system_instruction)
    return sum(tokenizer.count_tokens(_part_text(part)) for turn in turns for part in turn.parts)


def _part_text(part: content_pb2.Part) -> str:
    """What a part contributes to token counts: its text, or a call or result as JSON."""
    if part.HasField("text"):
        return part.text
    if part.HasField("function_call"):
        return part.function_call.name + json_format.MessageToJson(part.function_call.args)
    if part.HasField("function_response"):
        return part.function_response.name + json_format.MessageToJson(
            part.function_response.response
        )
    return ""


def _fingerprint(request: GenerationInput) -> bytes:
    turns = [*request.contents, request.system_instruction or content_pb2.Content()]
    return b"\x00".join(turn.SerializeToString(deterministic=True) for turn in turns)


def _pieces(candidate: GeneratedCandidate) -> list[content_pb2.Part]:
    """The candidate's parts with text split into streamable chunks."""
    pieces: list[content_pb2.Part] = []
    for part in candidate.parts:
        if part.HasField("text"):
            pieces.extend(
                content_pb2.Part(text=chunk)
                for chunk in tokenizer.chunks(part.text, STREAM_CHUNK_TOKENS)
            )
        else:
            pieces.append(part)
    return pieces
