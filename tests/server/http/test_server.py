"""The HTTP/JSON server end to end: a FakeServer with `http=True`, called with urllib.

Each call goes through the same handlers and policies as gRPC: the journal, scripted faults,
API keys and the stores are shared, so what one protocol creates the other sees.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from textgen.v1 import tuned_model_pb2

pytest.importorskip("aiohttp", reason="the HTTP server needs the `http` extra (aiohttp)")

import textgen
from textgen.testing import FakeServer, Progression

KEY = "http-key"
GENERATE = "/v1/models/gemini-1.5-flash:generateContent"
BODY = {"contents": [{"role": "user", "parts": [{"text": "Write a haiku"}]}]}


class Reply:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    fake: FakeServer,
    method: str,
    path: str,
    body: object = None,
    *,
    key: str | None = KEY,
    raw: bytes | None = None,
) -> Reply:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-goog-api-key"] = key
    request = urllib.request.Request(
        fake.http_url + path, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    emulator = FakeServer(http=True, api_keys={KEY: "alice", "other": "bob"})
    with emulator as running:
        yield running


@pytest.fixture
def fake(server: FakeServer) -> FakeServer:
    server.reset()
    server.progression = Progression.immediate()
    return server


def test_generate_content_answers_what_grpc_answers(fake: FakeServer) -> None:
    reply = call(fake, "POST", GENERATE, BODY)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    text = reply.json()["candidates"][0]["content"]["parts"][0]["text"]
    with textgen.Client(fake.target, api_key=KEY) as client:
        assert (
            text == client.models.generate_content("models/gemini-1.5-flash", "Write a haiku").text
        )
    first, second = fake.journal.calls("GenerateContent")
    assert first.path == second.path == "/textgen.v1.ModelService/GenerateContent"
    assert first.header("x-goog-api-key") == KEY
    assert first.request == second.request


def test_v1beta_goes_by_the_generative_language_path(fake: FakeServer) -> None:
    reply = call(fake, "POST", GENERATE.replace("/v1/", "/v1beta/"), BODY)
    assert reply.status == 200
    assert fake.journal.last("GenerateContent").path == (
        "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent"
    )


def test_the_key_may_come_as_a_query_parameter(fake: FakeServer) -> None:
    assert call(fake, "POST", f"{GENERATE}?key={KEY}", BODY, key=None).status == 200
    refused = call(fake, "POST", GENERATE, BODY, key=None)
    assert refused.status == 401
    assert refused.json()["error"]["status"] == "UNAUTHENTICATED"
    assert call(fake, "POST", f"{GENERATE}?key=nope", BODY, key=None).status == 401


def test_a_bad_body_from_a_caller_without_a_key_is_only_unauthenticated(fake: FakeServer) -> None:
    reply = call(fake, "POST", GENERATE, raw=b"{not json", key="nope")
    assert reply.status == 401
    reply = call(fake, "POST", GENERATE, raw=b"{not json")
    assert reply.status == 400
    assert "not valid JSON" in reply.json()["error"]["message"]


def test_an_unknown_field_is_a_400_naming_it(fake: FakeServer) -> None:
    body = {**BODY, "generationConfig": {"responseModalities": ["TEXT"]}}
    error = call(fake, "POST", GENERATE, body).json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    [bad_request, info] = error["details"]
    assert bad_request["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert bad_request["fieldViolations"][0]["field"] == "generationConfig.responseModalities"
    assert info["reason"] == "UNSUPPORTED_FIELD"


def test_validation_errors_keep_their_rich_details(fake: FakeServer) -> None:
    body = {**BODY, "generationConfig": {"temperature": 5, "topK": -1}}
    reply = call(fake, "POST", GENERATE, body)
    assert reply.status == 400
    [bad_request, _] = reply.json()["error"]["details"]
    fields = [v["field"] for v in bad_request["fieldViolations"]]
    assert fields == ["generation_config.temperature", "generation_config.top_k"]


def test_scripted_faults_apply_to_http_calls(fake: FakeServer) -> None:
    fake.script("GenerateContent").fail(grpc.StatusCode.UNAVAILABLE, "warming up", times=1)
    reply = call(fake, "POST", GENERATE, BODY)
    assert reply.status == 503
    assert reply.json()["error"] == {"code": 503, "message": "warming up", "status": "UNAVAILABLE"}
    assert call(fake, "POST", GENERATE, BODY).status == 200


def test_streaming_as_server_sent_events(fake: FakeServer) -> None:
    path = "/v1beta/models/gemini-1.5-flash:streamGenerateContent?alt=sse"
    reply = call(fake, "POST", path, BODY)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = reply.body.decode().split("\r\n\r\n")
    assert events[-1] == ""
    assert len(events) > 2
    assert all(event.startswith("data: {") for event in events[:-1])
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    text = "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks)
    whole = call(fake, "POST", GENERATE, BODY).json()["candidates"][0]["content"]["parts"][0]
    assert text == whole["text"]


def test_streaming_as_a_json_array_by_default(fake: FakeServer) -> None:
    reply = call(fake, "POST", "/v1/models/gemini-1.5-flash:streamGenerateContent", BODY)
    chunks = reply.json()
    assert isinstance(chunks, list)
    assert len(chunks) > 1
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_a_stream_refused_before_its_first_response_is_a_plain_error(fake: FakeServer) -> None:
    fake.script("StreamGenerateContent").fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")
    path = "/v1/models/gemini-1.5-flash:streamGenerateContent?alt=sse"
    reply = call(fake, "POST", path, BODY)
    assert reply.status == 429
    assert reply.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_unknown_routes_and_verbs(fake: FakeServer) -> None:
    missing = call(fake, "GET", "/v1/nothing/here")
    assert missing.status == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    wrong = call(fake, "PUT", "/v1/models", {})
    assert wrong.status == 405
    assert wrong.headers["Allow"] == "GET"


def test_list_models_pages_with_query_parameters(fake: FakeServer) -> None:
    first = call(fake, "GET", "/v1/models?pageSize=2").json()
    assert len(first["models"]) == 2
    token = first["nextPageToken"]
    second = call(fake, "GET", f"/v1/models?pageSize=2&pageToken={token}").json()
    assert second["models"][0]["name"] not in {m["name"] for m in first["models"]}
    model = call(fake, "GET", "/v1/models/gemini-1.5-flash").json()
    assert model["name"] == "models/gemini-1.5-flash"
    assert model["supportedGenerationMethods"] == ["generateContent", "countTokens"]


TUNED_MODEL = {
    "baseModel": "models/gemini-1.0-pro-001",
    "tuningTask": {
        "trainingData": {"examples": {"examples": [{"textInput": "I", "output": "II"}]}},
        "hyperparameters": {"epochCount": 1},
    },
}


def test_a_tuning_started_over_http_is_seen_over_grpc(fake: FakeServer) -> None:
    reply = call(fake, "POST", "/v1beta/tunedModels?tunedModelId=roman", TUNED_MODEL)
    assert reply.status == 200
    operation = reply.json()
    assert operation["name"].startswith("tunedModels/roman/operations/")
    assert operation["metadata"]["@type"] == (
        "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata"
    )
    with textgen.Client(fake.target, api_key=KEY) as client:
        tuned = client.operations.get(operation["name"]).result()
        assert isinstance(tuned, tuned_model_pb2.TunedModel)
        assert tuned.name == "tunedModels/roman"
    got = call(fake, "GET", "/v1/tunedModels/roman").json()
    assert got["state"] == "ACTIVE"
    renamed = call(
        fake, "PATCH", "/v1/tunedModels/roman?updateMask=displayName", {"displayName": "R"}
    )
    assert renamed.json()["displayName"] == "R"
    # Another principal's model answers as a missing one.
    assert call(fake, "GET", "/v1/tunedModels/roman", key="other").status == 404
    assert call(fake, "DELETE", "/v1/tunedModels/roman").json() == {}
    assert call(fake, "GET", "/v1/tunedModels/roman").status == 404


def test_a_tuning_started_over_grpc_is_seen_over_http(fake: FakeServer) -> None:
    with textgen.Client(fake.target, api_key=KEY) as client:
        operation = client.tuned_models.create(
            "models/gemini-1.0-pro-001", [("I", "II")], tuned_model_id="seen", epoch_count=1
        )
        operation.result()
    listed = call(fake, "GET", "/v1/tunedModels").json()
    assert [model["name"] for model in listed["tunedModels"]] == ["tunedModels/seen"]
    generated = call(fake, "POST", "/v1/tunedModels/seen:generateContent", BODY)
    assert generated.status == 200
    assert fake.journal.last("GenerateContent").request.model == "tunedModels/seen"
