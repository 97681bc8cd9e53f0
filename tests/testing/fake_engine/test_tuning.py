"""FakeEngine tuning: its own loop of steps with falling loss, then exact recall."""

from __future__ import annotations

import itertools

from textgen.server.engine import TuningParams, TuningProgress, TuningResult
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

BASE = default_model("models/gemini-1.0-pro-001")
EXAMPLES = [("I", "II"), ("II", "III"), ("III", "IV"), ("  IV ", "V")]
PARAMS = TuningParams(epoch_count=4, batch_size=2, learning_rate=0.001)


async def run(engine: FakeEngine) -> tuple[list[TuningProgress], object]:
    steps: list[TuningProgress] = []
    adapter: object = None
    async for event in engine.tune(BASE, EXAMPLES, PARAMS):
        assert adapter is None, "nothing comes after the result"
        if isinstance(event, TuningResult):
            adapter = event.adapter
        else:
            steps.append(event)
    assert adapter is not None
    return steps, adapter


async def test_one_step_per_batch_with_falling_reproducible_loss() -> None:
    engine = FakeEngine()
    steps, _ = await run(engine)
    assert [(s.step, s.epoch) for s in steps] == [(n, (n + 1) // 2) for n in range(1, 9)]
    losses = [s.mean_loss for s in steps]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[0] > 1.0 and losses[-1] > 0
    again, _ = await run(engine)
    assert [s.mean_loss for s in again] == losses


async def test_tuned_model_answers_a_training_input_exactly() -> None:
    engine = FakeEngine()
    _, adapter = await run(engine)
    for prompt, expected in (("III", "IV"), (" III\n", "IV"), ("IV", "V")):
        request = generation_input(BASE, prompt, adapter=adapter, candidate_count=2)
        output = await engine.generate(request)
        assert [candidate.text() for candidate in output.candidates] == [expected, expected]


async def test_other_prompts_fall_back_to_the_base_model() -> None:
    engine = FakeEngine()
    _, adapter = await run(engine)
    tuned = await engine.generate(generation_input(BASE, "V", adapter=adapter))
    base = await engine.generate(generation_input(BASE, "V"))
    assert tuned.candidates[0].text() == base.candidates[0].text()
    assert tuned.candidates[0].text() not in {output for _, output in EXAMPLES}
