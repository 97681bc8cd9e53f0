"""BaseEngine and BlockingEngine: defaults, and synchronous model code kept off the loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator, Sequence

import grpc
import pytest
from textgen.v1 import content_pb2, model_pb2, safety_pb2

from textgen.server.engine import (
    BaseEngine,
    BlockingEngine,
    GeneratedCandidate,
    GenerationInput,
    GenerationOutput,
    TuningEvent,
    TuningParams,
    TuningProgress,
    TuningResult,
)
from textgen.server.rpc.errors import ServiceError
from textgen.testing.fake_engine.engine_inputs import generation_input

MODEL = model_pb2.Model(name="models/plain-001", input_token_limit=10, output_token_limit=10)
PARAMS = TuningParams(epoch_count=2, batch_size=1, learning_rate=0.1)
CALLER = contextvars.ContextVar("CALLER", default="nobody")


def answer(text: str) -> GenerationOutput:
    return GenerationOutput([GeneratedCandidate([content_pb2.Part(text=text)])])


class AsyncEngine(BaseEngine):
    """The least an asynchronous engine writes."""

    def models(self) -> Sequence[model_pb2.Model]:
        return [MODEL]

    async def count_tokens(self, model: model_pb2.Model, text: str) -> int:
        return len(text)

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        return answer(request.prompt_text())


class ThreadEngine(BlockingEngine):
    """Synchronous hooks that report the thread (and context) they ran in."""

    def __init__(self, workers: int = 2) -> None:
        super().__init__(workers=workers)
        self.gate = threading.Event()

    def models(self) -> Sequence[model_pb2.Model]:
        return [MODEL]

    def count_tokens_sync(self, model: model_pb2.Model, text: str) -> int:
        return len(text.split())

    def generate_sync(self, request: GenerationInput) -> GenerationOutput:
        if request.prompt_text() == "wait":
            assert self.gate.wait(10), "the test never opened the gate"
        return answer(f"{threading.current_thread().name} {CALLER.get()}")

    def stream_sync(self, request: GenerationInput) -> Iterator[GenerationOutput]:
        for word in request.prompt_text().split():
            yield answer(f"{word}@{threading.current_thread().name}")

    def tune_sync(
        self, base_model: model_pb2.Model, examples: Sequence[tuple[str, str]], params: TuningParams
    ) -> Iterator[TuningEvent]:
        for step in range(1, params.epoch_count * len(examples) + 1):
            yield TuningProgress(step, 1, 1.0 / step)
        yield TuningResult(threading.current_thread().name)


async def test_base_engine_defaults() -> None:
    engine = AsyncEngine()
    request = generation_input(MODEL, "hi there")
    ratings = await engine.rate(MODEL, "anything", [safety_pb2.HARM_CATEGORY_VIOLENCE])
    assert [(r.category, r.probability) for r in ratings] == [
        (safety_pb2.HARM_CATEGORY_VIOLENCE, safety_pb2.SafetyRating.NEGLIGIBLE)
    ]
    streamed = [item async for item in engine.stream(request)]
    assert [item.candidates[0].text() for item in streamed] == ["hi there"]
    with pytest.raises(ServiceError) as caught:
        engine.embedding_dimension(MODEL)
    assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(ServiceError) as caught:
        await engine.embed(MODEL, ["x"])
    assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(ServiceError):
        await anext(engine.tune(MODEL, [("a", "b")], PARAMS))


async def test_blocking_hooks_run_in_worker_threads_with_the_callers_context() -> None:
    engine = ThreadEngine()
    try:
        CALLER.set("alice")
        output = await engine.generate(generation_input(MODEL, "who"))
        assert output.candidates[0].text().split() == [
            output.candidates[0].text().split()[0],
            "alice",
        ]
        assert output.candidates[0].text().startswith("textgen-engine")
        assert await engine.count_tokens(MODEL, "one two") == 2
        streamed = [
            item.candidates[0].text()
            async for item in engine.stream(generation_input(MODEL, "a b"))
        ]
        assert [text.split("@")[0] for text in streamed] == ["a", "b"]
        assert all(text.split("@")[1].startswith("textgen-engine") for text in streamed)
        events = [event async for event in engine.tune(MODEL, [("x", "y")], PARAMS)]
        assert [e.step for e in events if isinstance(e, TuningProgress)] == [1, 2]
        result = events[-1]
        assert isinstance(result, TuningResult) and str(result.adapter).startswith("textgen-engine")
    finally:
        engine.close()


async def test_a_blocked_model_call_leaves_the_loop_free() -> None:
    engine = ThreadEngine(workers=1)
    try:
        stuck = asyncio.ensure_future(engine.generate(generation_input(MODEL, "wait")))
        ticks = 0
        while ticks < 20:  # the loop keeps turning while the model call blocks its thread
            await asyncio.sleep(0)
            ticks += 1
        assert not stuck.done()
        queued = asyncio.ensure_future(engine.count_tokens(MODEL, "a b c"))
        await asyncio.sleep(0.01)
        assert not queued.done(), "one worker: the next call waits for the blocked one"
        engine.gate.set()
        await stuck
        assert await queued == 3
    finally:
        engine.close()


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ThreadEngine(workers=0)
