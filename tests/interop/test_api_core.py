"""google-api-core's own operations client polls our tuning operation to a TunedModel.

Nobody on this project wrote that client, so it proves our operations follow the
google.longrunning contract as Google's libraries expect it.
"""

from __future__ import annotations

import math

import grpc
from google.api_core import operation, operations_v1
from google.api_core.future import polling
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2, tuned_model_service_pb2_grpc

from textgen.testing import FakeServer
from textgen.testing.pacing import Progression

EXAMPLES = [("1", "2"), ("2", "3"), ("III", "IV"), ("9", "10"), ("X", "XI")]


def _create_request() -> tuned_model_service_pb2.CreateTunedModelRequest:
    examples = [tuned_model_pb2.TuningExample(text_input=i, output=o) for i, o in EXAMPLES]
    return tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model_id="roman-increment",
        tuned_model=tuned_model_pb2.TunedModel(
            base_model="models/gemini-1.0-pro-001",
            display_name="roman increment",
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=tuned_model_pb2.TuningExamples(examples=examples)
                ),
                hyperparameters=tuned_model_pb2.Hyperparameters(epoch_count=3, batch_size=2),
            ),
        ),
    )


def test_api_core_operation_future_polls_tuning_to_tuned_model() -> None:
    with FakeServer(progression=Progression.after_duration(job_seconds=0.5)) as fake:
        channel = grpc.insecure_channel(fake.target)
        stub = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
        started = stub.CreateTunedModel(_create_request(), timeout=10)
        assert not started.done

        client = operations_v1.OperationsClient(channel)  # type: ignore[no-untyped-call]
        # api-core's default polling starts at 1 s; a faster schedule keeps the test short
        # without changing how the future polls.
        fast = polling.DEFAULT_POLLING.with_delay(initial=0.02, maximum=0.1, multiplier=1.5)
        future = operation.from_gapic(  # type: ignore[no-untyped-call]
            started,
            client,
            tuned_model_pb2.TunedModel,
            metadata_type=tuned_model_service_pb2.CreateTunedModelMetadata,
            polling=fast.with_timeout(30),
        )
        result = future.result()

        assert isinstance(result, tuned_model_pb2.TunedModel)
        assert result.name == "tunedModels/roman-increment"
        assert result.state == tuned_model_pb2.TunedModel.ACTIVE
        assert not result.tuning_task.HasField("training_data")
        metadata = future.metadata
        assert isinstance(metadata, tuned_model_service_pb2.CreateTunedModelMetadata)
        assert metadata.total_steps == math.ceil(len(EXAMPLES) / 2) * 3
        assert metadata.completed_steps == metadata.total_steps
        assert metadata.tuned_model == "tunedModels/roman-increment"
        polls = fake.journal.calls("/google.longrunning.Operations/GetOperation")
        assert len(polls) >= 2, "api-core should have polled more than once"
        channel.close()
