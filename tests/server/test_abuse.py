"""Hostile requests (issue 10, findings 1, 2, 3 and 5): each is answered within a deadline,
as a refusal naming the field and the limit or as a bounded answer, never INTERNAL; and
GetModel keeps answering within 100 ms while each of them runs.

Every call carries a gRPC deadline (ABUSE_DEADLINE), so a request that makes the server
work without bound fails its test with DEADLINE_EXCEEDED instead of hanging the suite.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from textgen.v1 import (
    content_pb2,
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    generation_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    tuned_model_pb2,
    tuned_model_service_pb2,
    tuned_model_service_pb2_grpc,
)
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import text_generation_batch_service_pb2_grpc as batch_grpc

from textgen.errors import status_of
from textgen.server.jobs.tuning import MAX_SNAPSHOTS
from textgen.server.validation.schema_limits import MAX_SCHEMA_DEPTH
from textgen.server.validation.tuning_rules import MAX_EPOCHS, MAX_TUNING_STEPS
from textgen.testing import FakeServer, Progression

GEMINI = "models/gemini-1.5-flash"
TUNABLE = "models/gemini-1.0-pro-001"
TEXT_MODEL = "models/text-bison-001"
JSON = "application/json"
ABUSE_DEADLINE = 10.0  # seconds any single hostile call may take, refusal or answer
LIVENESS_DEADLINE = 0.1  # seconds GetModel may take meanwhile
USER = [content_pb2.Content(role="user", parts=[content_pb2.Part(text="Hello there.")])]


@dataclass
class Stubs:
    models: model_service_pb2_grpc.ModelServiceStub
    tuned: tuned_model_service_pb2_grpc.TunedModelServiceStub
    datasets: dataset_service_pb2_grpc.DatasetServiceStub
    batches: batch_grpc.TextGenerationBatchServiceStub
    operations: operations_pb2_grpc.OperationsStub


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer(progression=Progression.immediate()) as server:
        yield server


@pytest.fixture(scope="module")
def stubs(fake: FakeServer) -> Stubs:
    channel = fake.channel()
    return Stubs(
        model_service_pb2_grpc.ModelServiceStub(channel),
        tuned_model_service_pb2_grpc.TunedModelServiceStub(channel),
        dataset_service_pb2_grpc.DatasetServiceStub(channel),
        batch_grpc.TextGenerationBatchServiceStub(channel),
        operations_pb2_grpc.OperationsStub(channel),  # type: ignore[no-untyped-call]
    )


# --- helpers ------------------------------------------------------------------------------


def refused(call: Callable[..., Any], request: object) -> dict[str, str]:
    """Send `request`, expect INVALID_ARGUMENT; its field violations, field -> description."""
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=ABUSE_DEADLINE)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    status = status_of(error)
    assert status is not None
    found: dict[str, str] = {}
    for packed in status.details:
        bad = error_details_pb2.BadRequest()
        if packed.Unpack(bad):
            found.update((v.field, v.description) for v in bad.field_violations)
    return found


def nested_arrays(depth: int, min_items: int = 0) -> content_pb2.Schema:
    schema = content_pb2.Schema(type=content_pb2.STRING)
    for _ in range(depth):
        schema = content_pb2.Schema(type=content_pb2.ARRAY, items=schema, min_items=min_items)
    return schema


def json_mode(
    schema: content_pb2.Schema | None = None,
    document: dict[str, Any] | None = None,
    max_tokens: int = 0,
) -> model_service_pb2.GenerateContentRequest:
    config = generation_pb2.GenerationConfig(response_mime_type=JSON)
    if schema is not None:
        config.response_schema.CopyFrom(schema)
    if document is not None:
        json_format.ParseDict(document, config.response_json_schema)
    if max_tokens:
        config.max_output_tokens = max_tokens
    return model_service_pb2.GenerateContentRequest(
        model=GEMINI, contents=USER, generation_config=config
    )


def with_system(parts: list[str]) -> model_service_pb2.GenerateContentRequest:
    instruction = content_pb2.Content(parts=[content_pb2.Part(text=text) for text in parts])
    return model_service_pb2.GenerateContentRequest(
        model=GEMINI, contents=USER, system_instruction=instruction
    )


def tuning(
    examples: int = 4, **hyperparameters: float
) -> tuned_model_service_pb2.CreateTunedModelRequest:
    pairs = [
        tuned_model_pb2.TuningExample(text_input=f"q{n}", output=f"a{n}") for n in range(examples)
    ]
    task = tuned_model_pb2.TuningTask(
        training_data=tuned_model_pb2.TuningDataset(
            examples=tuned_model_pb2.TuningExamples(examples=pairs)
        ),
        hyperparameters=tuned_model_pb2.Hyperparameters(**hyperparameters),  # type: ignore[arg-type]
    )
    return tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model=tuned_model_pb2.TunedModel(base_model=TUNABLE, tuning_task=task)
    )


def with_call_args(
    args: dict[str, Any], result: dict[str, Any]
) -> model_service_pb2.GenerateContentRequest:
    call = content_pb2.FunctionCall(name="lookup")
    call.args.update(args)
    answer = content_pb2.FunctionResponse(name="lookup")
    answer.response.update(result)
    return model_service_pb2.GenerateContentRequest(
        model=GEMINI,
        contents=[
            *USER,
            content_pb2.Content(role="model", parts=[content_pb2.Part(function_call=call)]),
            content_pb2.Content(role="user", parts=[content_pb2.Part(function_response=answer)]),
        ],
    )


def prompt_dataset(stubs: Stubs, dataset_id: str) -> str:
    """A two-row prompt dataset of the caller's (made once per id)."""
    try:
        stubs.datasets.CreateDataset(
            dataset_service_pb2.CreateDatasetRequest(
                dataset=dataset_pb2.Dataset(display_name="Prompts"),
                dataset_id=dataset_id,
                rows=[
                    dataset_pb2.DatasetPrompt(text="One."),
                    dataset_pb2.DatasetPrompt(text="Two."),
                ],
            ),
            timeout=ABUSE_DEADLINE,
        )
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    return dataset_id


def batch(
    stubs: Stubs, schema: struct_pb2.Struct, max_tokens: int = 0
) -> batch_pb2.BatchCompletionRequest:
    request = batch_pb2.BatchCompletionRequest(
        model_uri=GEMINI, source_dataset_id=prompt_dataset(stubs, "abuse-prompts")
    )
    request.json_schema.schema.CopyFrom(schema)
    if max_tokens:
        request.completion_options.max_tokens.value = max_tokens
    return request


def struct(document: dict[str, Any]) -> struct_pb2.Struct:
    found = struct_pb2.Struct()
    found.update(document)
    return found


# --- the hostile requests -------------------------------------------------------------------
# Each case sends its request and checks the answer; the liveness test runs each again.

Case = Callable[[Stubs], None]
CASES: dict[str, Case] = {}


def case(function: Case) -> Case:
    CASES[function.__name__] = function
    return function


@case
def deep_array_schema_answers(stubs: Stubs) -> None:
    # Finding 1: 22 nested arrays took over 30 s; now one item per level at most.
    answer = stubs.models.GenerateContent(json_mode(nested_arrays(22, 1)), timeout=ABUSE_DEADLINE)
    assert answer.candidates[0].content.parts[0].text.startswith("[[[[")


@case
def too_deep_schema_is_refused(stubs: Stubs) -> None:
    found = refused(stubs.models.GenerateContent, json_mode(nested_arrays(MAX_SCHEMA_DEPTH + 1)))
    assert str(MAX_SCHEMA_DEPTH) in found["generation_config.response_schema"]


@case
def billion_min_items_is_refused(stubs: Stubs) -> None:
    schema = content_pb2.Schema(
        type=content_pb2.ARRAY, items=content_pb2.Schema(type=content_pb2.STRING), min_items=10**9
    )
    found = refused(stubs.models.GenerateContent, json_mode(schema, max_tokens=500))
    assert "max_output_tokens (500)" in found["generation_config.response_schema"]


@case
def billion_min_items_in_json_schema_is_refused(stubs: Stubs) -> None:
    document = {"type": "array", "items": {"type": "integer"}, "minItems": 1e9}
    found = refused(stubs.models.GenerateContent, json_mode(document=document))
    assert "max_output_tokens" in found["generation_config.response_json_schema"]


@case
def exponential_min_items_is_refused(stubs: Stubs) -> None:
    # Three items at each of 14 levels: 3^14 values, far past the output cap.
    found = refused(stubs.models.GenerateContent, json_mode(nested_arrays(14, 3)))
    assert "max_output_tokens" in found["generation_config.response_schema"]


@case
def self_referring_required_members_are_refused(stubs: Stubs) -> None:
    node = {"$ref": "#/$defs/node"}
    document = {
        "$defs": {
            "node": {"type": "object", "properties": {"l": node, "r": node}, "required": ["l", "r"]}
        },
        "$ref": "#/$defs/node",
    }
    found = refused(stubs.models.GenerateContent, json_mode(document=document))
    assert "max_output_tokens" in found["generation_config.response_json_schema"]


@case
def self_referring_optional_members_answer(stubs: Stubs) -> None:
    node = {"$ref": "#/$defs/node"}
    document = {
        "$defs": {"node": {"type": "object", "properties": {"l": node, "r": node}}},
        "$ref": "#/$defs/node",
    }
    answer = stubs.models.GenerateContent(json_mode(document=document), timeout=ABUSE_DEADLINE)
    assert answer.candidates[0].content.parts[0].text.startswith("{")


@case
def self_referring_all_of_answers(stubs: Stubs) -> None:
    # Resolved within a step budget: once ended in RecursionError (INTERNAL).
    loop = {"allOf": [{"$ref": "#/$defs/loop"}, {"$ref": "#/$defs/loop"}]}
    document = {"$defs": {"loop": loop}, "$ref": "#/$defs/loop"}
    answer = stubs.models.GenerateContent(json_mode(document=document), timeout=ABUSE_DEADLINE)
    assert answer.candidates


@case
def batch_billion_min_items_is_refused(stubs: Stubs) -> None:
    schema = struct(
        {
            "type": "object",
            "properties": {"xs": {"type": "array", "minItems": 1e9}},
            "required": ["xs"],
        }
    )
    found = refused(stubs.batches.Completion, batch(stubs, schema, max_tokens=100))
    assert "completion_options.max_tokens (100)" in found["json_schema.schema"]


@case
def newline_system_instruction_answers(stubs: Stubs) -> None:
    # Finding 2: 16k newlines took 10 s of directive parsing.
    answer = stubs.models.GenerateContent(
        with_system(["respond: fine" + "\n" * 32_000]), timeout=ABUSE_DEADLINE
    )
    assert answer.candidates[0].content.parts[0].text == "fine"


@case
def ten_thousand_tiny_parts_answer(stubs: Stubs) -> None:
    for piece in ("\n", "a"):
        answer = stubs.models.GenerateContent(with_system([piece] * 10_000), timeout=ABUSE_DEADLINE)
        assert answer.candidates


@case
def endless_epochs_are_refused(stubs: Stubs) -> None:
    # Finding 3: 2^31-1 epochs blocked the server for good.
    found = refused(stubs.tuned.CreateTunedModel, tuning(epoch_count=2**31 - 1))
    assert str(MAX_EPOCHS) in found["tuned_model.tuning_task.hyperparameters.epoch_count"]
    assert str(MAX_TUNING_STEPS) in found["tuned_model.tuning_task.hyperparameters"]


@case
def huge_batch_size_is_refused(stubs: Stubs) -> None:
    found = refused(stubs.tuned.CreateTunedModel, tuning(batch_size=2**31 - 1))
    assert "1024" in found["tuned_model.tuning_task.hyperparameters.batch_size"]


@case
def too_many_steps_are_refused(stubs: Stubs) -> None:
    # Each hyperparameter within its range, but 200 examples x 100 epochs at batch 1.
    found = refused(stubs.tuned.CreateTunedModel, tuning(200, epoch_count=100, batch_size=1))
    assert "20000 tuning steps" in found["tuned_model.tuning_task.hyperparameters"]


@case
def infinite_learning_rate_is_refused(stubs: Stubs) -> None:
    found = refused(stubs.tuned.CreateTunedModel, tuning(learning_rate=math.inf))
    assert "finite" in found["tuned_model.tuning_task.hyperparameters.learning_rate"]


@case
def non_finite_integer_bounds_are_refused(stubs: Stubs) -> None:
    # Finding 5: INTEGER bounds of NaN or Infinity.
    member = content_pb2.Schema(type=content_pb2.INTEGER, minimum=-math.inf, maximum=math.nan)
    schema = content_pb2.Schema(type=content_pb2.OBJECT, properties={"n": member})
    found = refused(stubs.models.GenerateContent, json_mode(schema))
    assert set(found) == {
        'generation_config.response_schema.properties["n"].minimum',
        'generation_config.response_schema.properties["n"].maximum',
    }


@case
def non_finite_function_args_are_refused(stubs: Stubs) -> None:
    found = refused(
        stubs.models.GenerateContent, with_call_args({"x": [1, math.nan]}, {"t": math.inf})
    )
    assert "/x/1" in found["contents[1].parts[0].function_call.args"]
    assert "/t" in found["contents[2].parts[0].function_response.response"]


@case
def non_finite_batch_schema_is_refused(stubs: Stubs) -> None:
    schema = struct(
        {"type": "object", "properties": {"n": {"type": "number", "maximum": math.inf}}}
    )
    found = refused(stubs.batches.Completion, batch(stubs, schema))
    assert "/properties/n/maximum" in found["json_schema.schema"]


@case
def overlong_number_in_prompt_is_answered(stubs: Stubs) -> None:
    # A number too long for a float, where an INTEGER argument is filled: skipped, not
    # rounded from infinity (OverflowError).
    declaration = content_pb2.FunctionDeclaration(
        name="add",
        parameters=content_pb2.Schema(
            type=content_pb2.OBJECT, properties={"a": content_pb2.Schema(type=content_pb2.INTEGER)}
        ),
    )
    request = model_service_pb2.GenerateContentRequest(
        model=GEMINI,
        contents=[
            content_pb2.Content(role="user", parts=[content_pb2.Part(text="add " + "9" * 400)])
        ],
        tools=[content_pb2.Tool(function_declarations=[declaration])],
    )
    answer = stubs.models.GenerateContent(request, timeout=ABUSE_DEADLINE)
    assert answer.candidates[0].content.parts[0].function_call.args["a"] == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_request(stubs: Stubs, name: str) -> None:
    CASES[name](stubs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_get_model_answers_while_hostile_requests_run(stubs: Stubs, name: str) -> None:
    """Each hostile request runs in a thread; meanwhile every GetModel must answer within
    LIVENESS_DEADLINE (a deadline, not a measurement)."""
    failures: list[BaseException] = []
    done = threading.Event()

    def hostile() -> None:
        try:
            CASES[name](stubs)
        except BaseException as error:
            failures.append(error)
        finally:
            done.set()

    worker = threading.Thread(target=hostile)
    worker.start()
    probes = 0
    while not done.is_set() or probes < 3:
        model = stubs.models.GetModel(
            model_service_pb2.GetModelRequest(name=GEMINI), timeout=LIVENESS_DEADLINE
        )
        assert model.name == GEMINI
        probes += 1
    worker.join(ABUSE_DEADLINE)
    assert not failures, failures


# --- tuning work stays linear and the operation small --------------------------------------


def test_longest_tuning_run_keeps_a_bounded_operation(stubs: Stubs) -> None:
    # MAX_TUNING_STEPS steps, straight through; every snapshot write costs the same, so the
    # run ends well within the deadline and its operation holds at most MAX_SNAPSHOTS + 1.
    request = tuning(100, epoch_count=MAX_TUNING_STEPS // 100, batch_size=1)
    created = stubs.tuned.CreateTunedModel(request, timeout=ABUSE_DEADLINE)
    done = stubs.operations.WaitOperation(
        operations_pb2.WaitOperationRequest(name=created.name, timeout={"seconds": 30}),
        timeout=30,
    )
    assert done.done and done.HasField("response"), done
    metadata = tuned_model_service_pb2.CreateTunedModelMetadata()
    assert done.metadata.Unpack(metadata)
    assert metadata.completed_steps == MAX_TUNING_STEPS
    steps = [snapshot.step for snapshot in metadata.snapshots]
    assert len(steps) <= MAX_SNAPSHOTS + 1
    assert steps == sorted(steps) and steps[-1] == MAX_TUNING_STEPS and steps[0] <= 64
    assert done.ByteSize() < 32 * 1024
    model = tuned_model_pb2.TunedModel()
    assert done.response.Unpack(model)
    assert [s.step for s in model.tuning_task.snapshots] == steps
