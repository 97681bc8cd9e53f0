"""TextGenerationBatchService.Completion: the request's own checks (all before any lookup),
then the model and the source dataset, each the caller's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from textgen.v1 import dataset_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.server.env import ALICE, BOB, TEXT_MODEL, Env, violated_fields
from textgen.server.jobs.tuning import start_tuning

Request = batch_pb2.BatchCompletionRequest


def schema(value: Mapping[str, Any]) -> batch_pb2.JsonSchema:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(value), struct)
    return batch_pb2.JsonSchema(schema=struct)


async def expect_error(
    env: Env, request: Request, code: grpc.StatusCode, user: str = ALICE
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.complete_batch(request, user)
    assert caught.value.code() == code
    return caught.value


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"model_uri": ""}, "model_uri"),
        ({"model_uri": "gpt://folder/model"}, "model_uri"),
        ({"source_dataset_id": ""}, "source_dataset_id"),
        ({"temperature": 1.5}, "completion_options.temperature"),
        ({"temperature": -0.1}, "completion_options.temperature"),
        ({"max_tokens": 0}, "completion_options.max_tokens"),
        ({"stream": True}, "completion_options.stream"),
        ({"schema": {"type": "array"}}, "json_schema.schema"),
        ({"schema": {}}, "json_schema.schema"),
    ],
)
async def test_syntax_rules(env: Env, changes: dict[str, object], field: str) -> None:
    request = Request(model_uri=TEXT_MODEL, source_dataset_id=await env.prompts(["x"]))
    for key, value in changes.items():
        if key in ("temperature", "max_tokens"):
            getattr(request.completion_options, key).value = value
        elif key == "stream":
            request.completion_options.stream = bool(value)
        elif key == "schema":
            request.json_schema.CopyFrom(schema(value))  # type: ignore[arg-type]
        else:
            setattr(request, key, value)
    error = await expect_error(env, request, grpc.StatusCode.INVALID_ARGUMENT)
    assert violated_fields(error) == [field]


async def test_syntax_is_checked_before_lookups(env: Env) -> None:
    request = Request(model_uri="models/unknown", source_dataset_id="missing")
    request.completion_options.stream = True
    error = await expect_error(env, request, grpc.StatusCode.INVALID_ARGUMENT)
    assert violated_fields(error) == ["completion_options.stream"]


async def test_max_tokens_above_the_model_limit(env: Env) -> None:
    request = Request(model_uri=TEXT_MODEL, source_dataset_id=await env.prompts(["x"]))
    request.completion_options.max_tokens.value = 1025  # text-bison-001 writes at most 1024
    error = await expect_error(env, request, grpc.StatusCode.INVALID_ARGUMENT)
    assert violated_fields(error) == ["completion_options.max_tokens"]


async def test_unknown_model_and_dataset_are_not_found(env: Env) -> None:
    dataset_id = await env.prompts(["x"])
    await expect_error(
        env,
        Request(model_uri="models/unknown-001", source_dataset_id=dataset_id),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_error(
        env,
        Request(model_uri="tunedModels/nobody", source_dataset_id=dataset_id),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_error(
        env, Request(model_uri=TEXT_MODEL, source_dataset_id="missing"), grpc.StatusCode.NOT_FOUND
    )


async def test_tuned_model_must_be_active(env: Env) -> None:
    record = env.tuned_record("busy")
    await start_tuning(env.state, env.operations, record)
    await expect_error(
        env,
        Request(model_uri=record.model.name, source_dataset_id=await env.prompts(["x"])),
        grpc.StatusCode.FAILED_PRECONDITION,
    )


async def test_source_must_be_a_prompt_dataset(env: Env) -> None:
    dataset_id = await env.prompts(["x"])
    stored = await env.state.stores.datasets.get(ALICE, f"datasets/{dataset_id}")
    assert stored is not None
    stored.record.dataset.kind = dataset_pb2.Dataset.KIND_RESULTS
    assert await env.state.stores.datasets.update(stored.record, stored.version)
    error = await expect_error(
        env,
        Request(model_uri=TEXT_MODEL, source_dataset_id=dataset_id),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violated_fields(error) == ["source_dataset_id"]


async def test_another_principals_resources_are_not_found(env: Env) -> None:
    alice_dataset = await env.prompts(["x"])
    await expect_error(
        env,
        Request(model_uri=TEXT_MODEL, source_dataset_id=alice_dataset),
        grpc.StatusCode.NOT_FOUND,
        user=BOB,
    )
    record = env.tuned_record("private")
    await start_tuning(env.state, env.operations, record)
    await env.clock.advance(3.0)
    await expect_error(
        env,
        Request(model_uri=record.model.name, source_dataset_id=await env.prompts(["y"], owner=BOB)),
        grpc.StatusCode.NOT_FOUND,
        user=BOB,
    )
