"""The tuning job: steps, metadata, snapshots, state changes and timestamps."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import timestamp_pb2
from google.rpc import code_pb2
from textgen.v1 import model_pb2, tuned_model_pb2, tuned_model_service_pb2

from tests.server.env import ALICE, Env, as_user, unpack
from textgen.server.clock import MANUAL_EPOCH
from textgen.server.engine import (
    BaseEngine,
    BlockingEngine,
    TuningEvent,
    TuningParams,
    TuningProgress,
    TuningResult,
)
from textgen.server.jobs.tuning import start_tuning, total_steps, tuning_params
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import Progression

TunedModel = tuned_model_pb2.TunedModel
Metadata = tuned_model_service_pb2.CreateTunedModelMetadata


def seconds(stamp: timestamp_pb2.Timestamp) -> float:
    return stamp.ToNanoseconds() / 1e9


def metadata_of(operation: operations_pb2.Operation) -> Metadata:
    return unpack(operation.metadata, Metadata())


async def test_metadata_advances_step_by_step(env: Env) -> None:
    record = env.tuned_record("steps", examples=10, epochs=2, batch_size=4)
    created = await start_tuning(env.state, env.operations, record)
    first = metadata_of(created)
    assert first.total_steps == 6  # ceil(10 / 4) * 2
    assert first.completed_steps == 0 and not first.snapshots
    assert (await env.tuned_model(record.name)).model.state == TunedModel.CREATING

    await env.clock.advance(0.5)  # 3 s over 6 steps: one step
    after_one = metadata_of(await env.get(created.name))
    assert after_one.completed_steps == 1
    assert abs(after_one.completed_percent - 100 / 6) < 1e-3
    assert [(s.step, s.epoch) for s in after_one.snapshots] == [(1, 1)]

    await env.clock.advance(1.5)
    after_four = metadata_of(await env.get(created.name))
    assert after_four.completed_steps == 4
    assert [(s.step, s.epoch) for s in after_four.snapshots] == [(1, 1), (2, 1), (3, 1), (4, 2)]
    assert (await env.tuned_model(record.name)).model.state == TunedModel.CREATING
    assert not (await env.get(created.name)).done

    await env.clock.advance(1.0)
    done = await env.get(created.name)
    assert done.done and not done.HasField("error")
    final = metadata_of(done)
    assert final.completed_steps == 6 and final.completed_percent == 100.0
    losses = [snapshot.mean_loss for snapshot in final.snapshots]
    assert losses == sorted(losses, reverse=True) and len(set(losses)) == len(losses)
    stored = await env.tuned_model(record.name)
    assert stored.model.state == TunedModel.ACTIVE
    assert stored.adapter is not None


async def test_response_is_the_tuned_model_without_training_data(env: Env) -> None:
    record = env.tuned_record("answer")
    created = await start_tuning(env.state, env.operations, record)
    await env.clock.advance(3.0)
    operation = await env.get(created.name)
    model = unpack(operation.response, TunedModel())
    assert model.name == "tunedModels/answer"
    assert model.state == TunedModel.ACTIVE
    assert not model.tuning_task.HasField("training_data")
    assert len(model.tuning_task.snapshots) == metadata_of(operation).total_steps


async def test_timestamps(env: Env) -> None:
    record = env.tuned_record("times", examples=8, epochs=1, batch_size=4)  # two steps
    await start_tuning(env.state, env.operations, record)
    model = (await env.tuned_model(record.name)).model
    assert seconds(model.create_time) == MANUAL_EPOCH
    assert seconds(model.tuning_task.start_time) == MANUAL_EPOCH
    assert not model.tuning_task.HasField("complete_time")
    await env.clock.advance(3.0)
    model = (await env.tuned_model(record.name)).model
    computed = [seconds(s.compute_time) for s in model.tuning_task.snapshots]
    assert computed == [MANUAL_EPOCH + 1.5, MANUAL_EPOCH + 3.0]
    assert seconds(model.tuning_task.complete_time) == MANUAL_EPOCH + 3.0
    assert seconds(model.update_time) == MANUAL_EPOCH + 3.0
    assert seconds(model.create_time) == MANUAL_EPOCH


async def test_defaults_when_hyperparameters_are_missing(env: Env) -> None:
    record = env.tuned_record("defaults", examples=7)
    record.model.tuning_task.ClearField("hyperparameters")
    params = tuning_params(record)
    assert (params.epoch_count, params.batch_size, params.learning_rate) == (5, 4, 0.001)
    assert total_steps(7, params) == 10
    created = await start_tuning(env.state, env.operations, record)
    assert metadata_of(created).total_steps == 10
    hyper = (await env.tuned_model(record.name)).model.tuning_task.hyperparameters
    assert (hyper.epoch_count, hyper.batch_size) == (5, 4)


async def test_learning_rate_multiplier_scales_the_default(env: Env) -> None:
    record = env.tuned_record("scaled")
    record.model.tuning_task.hyperparameters.learning_rate_multiplier = 2.0
    assert abs(tuning_params(record).learning_rate - 0.002) < 1e-9


async def test_immediate_progression_is_done_at_first_look(env: Env) -> None:
    env.pacer.progression = Progression.immediate()
    record = env.tuned_record("instant")
    created = await start_tuning(env.state, env.operations, record)
    assert not created.done
    operation = await env.get(created.name)
    assert operation.done
    assert (await env.tuned_model(record.name)).model.state == TunedModel.ACTIVE


async def test_poll_progression_advances_one_step_per_poll(env: Env) -> None:
    env.pacer.progression = Progression.after_polls()
    record = env.tuned_record("polled", examples=8, epochs=1, batch_size=4)  # two steps
    created = await start_tuning(env.state, env.operations, record)
    await env.clock.advance(100.0)  # clock time does not matter in this mode
    assert metadata_of(await env.operations.poll(created.name, "alice")).completed_steps == 1
    assert metadata_of(await env.operations.get(created.name, "alice")).completed_steps == 1
    second = await env.get(created.name)
    assert second.done and metadata_of(second).completed_steps == 2
    assert (await env.tuned_model(record.name)).model.state == TunedModel.ACTIVE


async def test_a_waiter_keeps_a_poll_paced_job_moving(env: Env) -> None:
    """WaitOperation counts as polling all along, so one long poll sees the job finish."""
    env.pacer.progression = Progression.after_polls()
    record = env.tuned_record("waited", examples=12, epochs=2, batch_size=4)  # six steps
    created = await start_tuning(env.state, env.operations, record)
    finished = await env.operations.wait(created.name, "alice", timeout=30)
    assert finished.done and metadata_of(finished).completed_steps == 6
    assert (await env.tuned_model(record.name)).model.state == TunedModel.ACTIVE


async def test_create_tuned_model_end_to_end(env: Env) -> None:
    source = TunedModel(
        base_model="models/gemini-1.0-pro-001",
        tuning_task=tuned_model_pb2.TuningTask(
            training_data=tuned_model_pb2.TuningDataset(
                examples=tuned_model_pb2.TuningExamples(
                    examples=[
                        tuned_model_pb2.TuningExample(text_input=f"in {i}", output=f"out {i}")
                        for i in range(6)
                    ]
                )
            )
        ),
    )
    request = tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model_id="wired", tuned_model=source
    )
    created = await env.tuned.CreateTunedModel(request, metadata=as_user(ALICE))
    assert created.name.startswith("tunedModels/wired/operations/")
    assert metadata_of(created).total_steps == 10  # ceil(6 / 4) * 5 with the defaults
    waiter = env.ops.WaitOperation(
        operations_pb2.WaitOperationRequest(name=created.name), metadata=as_user(ALICE)
    )
    await env.clock.advance(3.0)
    operation = await waiter
    assert operation.done
    model = await env.tuned.GetTunedModel(
        tuned_model_service_pb2.GetTunedModelRequest(name="tunedModels/wired"),
        metadata=as_user(ALICE),
    )
    assert model.state == TunedModel.ACTIVE
    assert len(model.tuning_task.snapshots) == 10


class ThreadTuner(BlockingEngine):
    """The fake's catalog, with a training loop written as plain synchronous code."""

    def models(self) -> Sequence[model_pb2.Model]:
        return FakeEngine().models()

    def tune_sync(
        self, base_model: model_pb2.Model, examples: Sequence[tuple[str, str]], params: TuningParams
    ) -> Iterator[TuningEvent]:
        steps = total_steps(len(examples), params)
        for step in range(1, steps + 1):
            yield TuningProgress(step, 1, 1.0 / step)
        yield TuningResult(f"trained in {threading.current_thread().name}")


async def test_a_blocking_engines_own_loop_reports_each_step(env: Env) -> None:
    engine = ThreadTuner(workers=1)
    env.state.engine = engine
    try:
        record = env.tuned_record("threaded", examples=8, epochs=1, batch_size=4)  # two steps
        created = await start_tuning(env.state, env.operations, record)
        await env.clock.advance(1.5)
        half = metadata_of(await env.get(created.name))
        assert [(s.step, s.mean_loss) for s in half.snapshots] == [(1, 1.0)]
        await env.clock.advance(1.5)
        done = await env.get(created.name)
        assert done.done and metadata_of(done).completed_steps == 2
        stored = await env.tuned_model(record.name)
        assert stored.model.state == TunedModel.ACTIVE
        assert str(stored.adapter).startswith("trained in textgen-engine")
    finally:
        engine.close()


async def test_an_engine_that_cannot_tune_fails_the_operation_with_unimplemented(
    env: Env,
) -> None:
    class Untunable(BaseEngine):
        def models(self) -> Sequence[model_pb2.Model]:
            return FakeEngine().models()

    env.state.engine = Untunable()
    env.pacer.progression = Progression.immediate()
    record = env.tuned_record("untunable")
    created = await start_tuning(env.state, env.operations, record)
    operation = await env.get(created.name)
    assert operation.done and operation.error.code == code_pb2.UNIMPLEMENTED
    assert (await env.tuned_model(record.name)).model.state == TunedModel.FAILED
