"""FakeEngine tuning: falling loss and exact recall of training examples."""

from __future__ import annotations

import itertools

from textgen.server.engine import TuningParams
from textgen.testing.fake_engine.catalog import default_model
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.fake_engine.engine_inputs import generation_input

BASE = default_model("models/gemini-1.0-pro-001")
EXAMPLES = [("I", "II"), ("II", "III"), ("III", "IV"), ("  IV ", "V")]
PARAMS = TuningParams(epoch_count=2, batch_size=2, learning_rate=0.001)


def tuned_adapter(engine: FakeEngine) -> object:
    run = engine.tune(BASE, EXAMPLES, PARAMS)
    for step in range(1, 5):
        run.step(step, 1, EXAMPLES[:2])
    return run.finish()


def test_loss_falls_with_every_step_and_is_reproducible() -> None:
    engine = FakeEngine()
    run = engine.tune(BASE, EXAMPLES, PARAMS)
    losses = [run.step(step, step // 2 + 1, EXAMPLES[step % 2 :][:2]) for step in range(1, 9)]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[0] > 1.0 and losses[-1] > 0
    again = engine.tune(BASE, EXAMPLES, PARAMS)
    assert [again.step(step, 1, []) for step in range(1, 9)] == losses


async def test_tuned_model_answers_a_training_input_exactly() -> None:
    engine = FakeEngine()
    adapter = tuned_adapter(engine)
    for prompt, expected in (("III", "IV"), (" III\n", "IV"), ("IV", "V")):
        request = generation_input(BASE, prompt, adapter=adapter, candidate_count=2)
        output = await engine.generate(request)
        assert [candidate.text() for candidate in output.candidates] == [expected, expected]


async def test_other_prompts_fall_back_to_the_base_model() -> None:
    engine = FakeEngine()
    tuned = await engine.generate(generation_input(BASE, "V", adapter=tuned_adapter(engine)))
    base = await engine.generate(generation_input(BASE, "V"))
    assert tuned.candidates[0].text() == base.candidates[0].text()
    assert tuned.candidates[0].text() not in {output for _, output in EXAMPLES}
