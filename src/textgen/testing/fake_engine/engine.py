"""FakeEngine: a deterministic, instant Engine whose behaviour tests can predict and steer.

How each candidate is answered, first rule that applies (modules named here are beside this
one in textgen.testing.fake_engine):

1. A function call, when the function_calls module says so: the prompt names a declared
   function or is about what its description says; arguments are read from the prompt.
2. A tuned adapter's memorised output, when the prompt is one of its training inputs (in JSON
   mode, only if that output is itself valid JSON).
3. In JSON mode (``response_mime_type == "application/json"``), JSON that conforms to
   ``response_schema`` (see json_values), or ``{"answer": "..."}`` without one. With
   ``"text/x.enum"``, one of the schema's enum values as plain text: the one the prompt
   mentions first, else one drawn as plain text is (so candidates may differ).
4. When the last turn holds function responses, a sentence stating what they returned.
5. Pseudo-text from a fixed word list, seeded by the model name, the whole prompt, the
   candidate index and, when temperature > 0, ``params.seed`` or else the engine's seed. So
   temperature 0 ignores seeds, and candidates differ from one another. ``top_k`` and
   ``top_p`` narrow the word list. ``echo:unsafe:...`` markers in the prompt start the
   answer (see harm). The request shapes this text (see shaped) when:

   - the prompt asks for a length: "N words" gives exactly N words, "N sentences" N
     sentences, and "long", "detailed", "in detail", "in depth" or "essay" 500 words,
     never more than max_output_tokens allows (see lengths). So max_output_tokens is more
     than a cap: a request for long text fills it, and is cut there with MAX_TOKENS;
   - presence_penalty, frequency_penalty or logit_bias is set: each word is picked by one
     scoring rule (see penalties): a positive presence penalty stops words repeating, a
     negative one makes the answer repeat itself, logit_bias bans or favours words;
   - the prompt quotes, in double quotes, a passage of a known source (see citations):
     the answer recites it first and the candidate carries its citation_metadata.

With thinking_config (include_thoughts, or a thinking_budget other than 0) a text answer is
preceded by reasoning: thoughts_token_count tokens of it, returned as a thought part when
include_thoughts is set (see thinking).

With ``params.logprobs`` set (response_logprobs), every candidate reports its tokens' log
probabilities, seeded as its text is (see logprobs); a stream reports them in its final item.

Outside JSON mode, text answers then follow the system instruction's directives
(directives). Every text answer is cut just before the first stop sequence
(finish STOP), then to max_output_tokens tokens (finish MAX_TOKENS), counted with
the tokenizer. Candidates are rated with harm for the model's
family of categories (content or text methods) plus any category a marker names. Those last
steps, and streaming a candidate, are in candidates. The most frequent answer, rule 5's prose
when nothing shapes or changes it, is written by plain in one go.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from textgen.server.engine import (
    FinishReason,
    GeneratedCandidate,
    GenerationInput,
    GenerationOutput,
    HarmCategory,
    HarmRating,
    RatingStream,
)
from textgen.testing.fake_engine import harm, tokenizer
from textgen.testing.fake_engine.candidates import (
    Answer,
    Cited,
    Streamed,
    called,
    fingerprint_of,
    finished,
    part_text,
    think,
)
from textgen.testing.fake_engine.catalog import DEFAULT_MODELS, copy_model
from textgen.testing.fake_engine.catalog import embedding_dimension as catalog_dimension
from textgen.testing.fake_engine.embeddings import embed_text, fit
from textgen.testing.fake_engine.plain import (
    asks_more,
    holds_results,
    plain_candidates,
    plain_prompt,
)
from textgen.testing.fake_engine.prose import digest, paragraph, seeded, vocabulary
from textgen.v1 import content_pb2, generation_pb2, model_pb2

if TYPE_CHECKING:
    from textgen.server.engine_tuning import TuningEvent, TuningParams

# Function calls, directives, tuning memory and JSON formatting are loaded by the first
# request that uses them (function-level imports below), so starting a server is quicker.

JSON_MIME_TYPE = "application/json"
ENUM_MIME_TYPE = "text/x.enum"
# Without a response_schema, JSON mode answers an object with one string member.
DEFAULT_JSON_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}


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
        categories: Sequence[HarmCategory],
        *,
        stream: RatingStream | None = None,
    ) -> Sequence[HarmRating]:
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
        final item carries finish reasons, ratings and token counts. A JSON answer is written
        only as far as the deltas sent so far need, so the first one comes as fast for a long
        answer as for a short one.
        """
        prompt_tokens = _prompt_tokens(request)
        answers, cited = self._answers(request)
        streams = [Streamed(request, answer, cited) for answer in answers]
        params = request.params
        if params.include_thoughts or params.thinking_budget:
            think(request, streams)
        upcoming = [stream.next_part() for stream in streams]
        while True:
            current = upcoming
            upcoming = [
                None if part is None else stream.next_part()
                for stream, part in zip(streams, current, strict=True)
            ]
            final = all(part is None for part in upcoming)
            await asyncio.sleep(0)
            candidates = [
                GeneratedCandidate(
                    parts=[] if part is None else [part],
                    finish_reason=stream.outcome.finish_reason if final else _UNSPECIFIED,
                    safety_ratings=stream.outcome.safety_ratings if final else (),
                    token_count=stream.outcome.token_count if final else 0,
                    citation_metadata=stream.outcome.citation_metadata if final else None,
                    thoughts_token_count=stream.thoughts_token_count if final else 0,
                )
                for stream, part in zip(streams, current, strict=True)
            ]
            if final and request.params.logprobs is not None:
                self._score(request, candidates, [stream.outcome for stream in streams])
            yield GenerationOutput(candidates=candidates, prompt_token_count=prompt_tokens)
            if final:
                return

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
        from textgen.server.engine_tuning import TuningProgress, TuningResult  # noqa: PLC0415
        from textgen.testing.fake_engine.memorizer import Memorizer  # noqa: PLC0415

        memory = Memorizer(base_model, examples, params)
        step = 0
        for epoch in range(1, params.epoch_count + 1):
            for start in range(0, len(examples), params.batch_size):
                step += 1
                batch = examples[start : start + params.batch_size]
                yield TuningProgress(step, epoch, memory.step(step, epoch, batch))
        yield TuningResult(memory.finish())

    def _generate(self, request: GenerationInput) -> GenerationOutput:
        prompt = plain_prompt(request)
        if prompt is not None:  # the most frequent answer (see plain)
            fingerprint = fingerprint_of(request)
            candidates = plain_candidates(
                request, lambda index: self._draws(request, fingerprint, index)
            )
            # A plain request has no system instruction: one turn of one text part is all
            # the prompt there is to count.
            parts = request.contents[0].parts
            single = len(request.contents) == 1 and len(parts) == 1 and parts[0].HasField("text")
            tokens = tokenizer.count_tokens(prompt) if single else _prompt_tokens(request)
            return GenerationOutput(candidates, tokens)
        return self._general(request)

    def _general(self, request: GenerationInput) -> GenerationOutput:
        # Every request, by the module docstring's rules, one after another.
        answers, cited = self._answers(request)
        candidates = [
            answer
            if isinstance(answer, GeneratedCandidate)
            else finished(request, answer if isinstance(answer, str) else "".join(answer), cited)
            for answer in answers
        ]
        params = request.params
        if params.include_thoughts or params.thinking_budget:
            think(request, candidates)
        if params.logprobs is not None:
            self._score(request, candidates, candidates)
        return GenerationOutput(candidates=candidates, prompt_token_count=_prompt_tokens(request))

    def _score(
        self,
        request: GenerationInput,
        targets: Sequence[GeneratedCandidate],
        wholes: Sequence[GeneratedCandidate],
    ) -> None:
        """Give each target the log probabilities of the whole candidate at its index."""
        from textgen.testing.fake_engine.logprobs import scored  # noqa: PLC0415

        top = request.params.logprobs or 0
        fingerprint = fingerprint_of(request)
        for index, (target, whole) in enumerate(zip(targets, wholes, strict=True)):
            text = "".join([part_text(part) for part in whole.parts if not part.thought])
            source = self._source(request, fingerprint, index, "logprobs")
            target.avg_logprobs, target.logprobs_result = scored(
                tokenizer.tokens(text), top, source
            )

    def _answers(self, request: GenerationInput) -> tuple[list[GeneratedCandidate | Answer], Cited]:
        """Each candidate: a function call, ready, or its text before cuts and ratings; and
        the sources those texts recite."""
        count = request.params.candidate_count
        if request.tools:  # without tools, no call
            from textgen.testing.fake_engine import function_calls  # noqa: PLC0415

            call = function_calls.plan_call(request.contents, request.tools, request.tool_config)
            if call is not None:
                return [called(request.model, call) for _ in range(count)], ()
        params = request.params
        json_mode = params.response_mime_type == JSON_MIME_TYPE
        directed = _directed(request.system_instruction)
        recalled = _recall(request, json_mode=json_mode)
        if recalled is not None:
            return [recalled if json_mode else directed(recalled)] * count, ()
        words = vocabulary(params.top_k, params.top_p)
        if params.response_mime_type == ENUM_MIME_TYPE and params.response_schema:
            return [
                self._enum_value(request, params.response_schema, index) for index in range(count)
            ], ()
        if json_mode:
            from textgen.testing.fake_engine.json_values import json_text  # noqa: PLC0415

            schema = params.response_schema or DEFAULT_JSON_SCHEMA
            fingerprint = fingerprint_of(request)
            # At most max_output_tokens values: each takes a token, so more would be cut.
            budget = params.max_output_tokens
            return [
                json_text(schema, self._source(request, fingerprint, index), words, budget=budget)
                for index in range(count)
            ], ()
        if request.contents and holds_results(request.contents[-1]):
            from textgen.testing.fake_engine import function_calls  # noqa: PLC0415

            results = function_calls.responses(request.contents[-1])
            return [directed(function_calls.describe(results))] * count, ()
        prompt = request.prompt_text()
        markers = harm.echoed_markers(prompt) if ":" in prompt else ()
        fingerprint = fingerprint_of(request)
        # A plain answer, unless the request shapes it (each check is cheap when it does not).
        if not (
            params.presence_penalty or params.frequency_penalty or params.logit_bias
        ) and not asks_more(prompt):
            texts = [
                paragraph(self._draws(request, fingerprint, index), words) for index in range(count)
            ]
            if markers:
                texts = [" ".join([*markers, text]) for text in texts]
            return [directed(text) for text in texts], ()
        from textgen.testing.fake_engine import shaped  # noqa: PLC0415

        written = shaped.Shaped(params, prompt, words)
        return [
            directed(" ".join([*markers, written.answer(self._key(request, fingerprint, index))]))
            for index in range(count)
        ], written.cited

    def _source(
        self, request: GenerationInput, fingerprint: bytes, index: int, *purpose: str
    ) -> random.Random:
        """The random source for one candidate (and purpose, beside its text); seeds matter
        only when temperature > 0."""
        return seeded(*self._key(request, fingerprint, index), *purpose)

    def _enum_value(self, request: GenerationInput, schema: dict[str, Any], index: int) -> str:
        """An enum answer: the value the prompt mentions first, else a drawn one."""
        from textgen.testing.fake_engine.mentions import Mentions  # noqa: PLC0415

        values = [str(value) for value in schema.get("enum", ())] or [""]
        mentioned = Mentions(request.prompt_text()).choice(values)
        if mentioned is not None:
            return mentioned
        return values[self._draws(request, fingerprint_of(request), index)[0] % len(values)]

    def _draws(self, request: GenerationInput, fingerprint: bytes, index: int) -> bytes:
        """The bytes one candidate's plain text is drawn from, keyed as `_source` is."""
        return digest(*self._key(request, fingerprint, index))

    def _key(self, request: GenerationInput, fingerprint: bytes, index: int) -> tuple[object, ...]:
        params = request.params
        seed = params.seed if params.seed is not None else self.seed
        sampled = seed if params.temperature > 0 else None
        return (request.model.name, fingerprint, index, sampled)


_UNSPECIFIED: FinishReason = generation_pb2.Candidate.FINISH_REASON_UNSPECIFIED


def _directed(instruction: content_pb2.Content | None) -> Callable[[str], str]:
    """What the system instruction's directives do to a text answer (nothing without one)."""
    if instruction is None:
        return _as_is
    from textgen.testing.fake_engine.directives import Directives  # noqa: PLC0415

    return Directives.parse(instruction).apply


def _as_is(text: str) -> str:
    return text


def _recall(request: GenerationInput, *, json_mode: bool) -> str | None:
    if request.adapter is None:
        return None
    from textgen.testing.fake_engine.memorizer import TunedAdapter  # noqa: PLC0415

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


def _prompt_tokens(request: GenerationInput) -> int:
    turns = request.contents
    if request.system_instruction is None and len(turns) == 1 and len(turns[0].parts) == 1:
        return tokenizer.count_tokens(part_text(turns[0].parts[0]))  # one part: nothing to join
    if request.system_instruction is not None:
        turns = [*turns, request.system_instruction]
    # Each part's tokens, counted at once: no token spans a space, and spaces are not
    # tokens, so the parts joined by spaces hold exactly the sum of their counts.
    return tokenizer.count_tokens(
        " ".join([part_text(part) for turn in turns for part in turn.parts])
    )
