"""Requests from JSON, query parameters and paths, strictly; messages to JSON."""

from __future__ import annotations

import json

import pytest
from google.longrunning import operations_pb2
from google.rpc import error_details_pb2
from textgen.v1 import tuned_model_pb2

from textgen.apis import APIS
from textgen.server.http.codec import read_request, to_json
from textgen.server.http.routes import Route, routes_for
from textgen.server.rpc.errors import ServiceError

TABLE = routes_for(APIS.values())


def _route(verb: str, path: str) -> tuple[Route, dict[str, str]]:
    found = TABLE.match(verb, path)
    assert found is not None
    return found


def _read(verb: str, path: str, body: object = None, query: dict[str, str] | None = None) -> object:
    route, bound = _route(verb, path)
    data = b"" if body is None else json.dumps(body).encode()
    return read_request(route, bound, (query or {}).items(), data)


def _violations(error: ServiceError) -> list[tuple[str, str]]:
    bad = error_details_pb2.BadRequest()
    assert error.status.details[0].Unpack(bad)
    return [(v.field, v.reason) for v in bad.field_violations]


def test_camel_case_and_proto_names_both_read() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": 5},
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }
    request = _read("POST", "/v1/models/m:generateContent", body)
    assert request.model == "models/m"  # type: ignore[attr-defined]
    assert request.generation_config.max_output_tokens == 5  # type: ignore[attr-defined]
    assert request.safety_settings[0].threshold == 4  # type: ignore[attr-defined]


def test_an_unknown_field_is_refused_at_its_path() -> None:
    body = {"contents": [{"parts": [{"text": "hi"}, {"text": "x", "fooBar": 1}]}]}
    with pytest.raises(ServiceError) as raised:
        _read("POST", "/v1/models/m:generateContent", body)
    assert raised.value.status.code == 3
    assert _violations(raised.value) == [("contents[0].parts[1].fooBar", "UNSUPPORTED_FIELD")]


def test_a_wrong_type_or_enum_name_is_refused() -> None:
    with pytest.raises(ServiceError, match="temperature"):
        _read("POST", "/v1/models/m:generateContent", {"generationConfig": {"temperature": "x"}})
    with pytest.raises(ServiceError, match="NOT_A_CATEGORY"):
        _read(
            "POST",
            "/v1/models/m:generateContent",
            {"safetySettings": [{"category": "NOT_A_CATEGORY"}]},
        )
    with pytest.raises(ServiceError, match="not valid JSON"):
        route, bound = _route("POST", "/v1/models/m:generateContent")
        read_request(route, bound, (), b"{")


def test_query_parameters_fill_a_get_request() -> None:
    request = _read("GET", "/v1/models", query={"pageSize": "2", "page_token": "t", "key": "k"})
    assert request.page_size == 2  # type: ignore[attr-defined]
    assert request.page_token == "t"  # type: ignore[attr-defined]
    with pytest.raises(ServiceError) as raised:
        _read("GET", "/v1/models", query={"pageSise": "2"})
    assert _violations(raised.value) == [("pageSise", "UNSUPPORTED_FIELD")]
    with pytest.raises(ServiceError, match="pageSize"):
        _read("GET", "/v1/models", query={"pageSize": "two"})


def test_a_body_field_and_a_nested_path_variable() -> None:
    request = _read(
        "PATCH",
        "/v1/tunedModels/t1",
        {"displayName": "new"},
        query={"updateMask": "displayName"},
    )
    assert request.tuned_model.name == "tunedModels/t1"  # type: ignore[attr-defined]
    assert request.tuned_model.display_name == "new"  # type: ignore[attr-defined]
    assert list(request.update_mask.paths) == ["display_name"]  # type: ignore[attr-defined]


def test_a_get_takes_no_body() -> None:
    with pytest.raises(ServiceError, match="takes no request body"):
        _read("GET", "/v1/models", {"pageSize": 1})


def test_messages_are_written_in_camel_case_with_enum_names() -> None:
    model = tuned_model_pb2.TunedModel(
        name="tunedModels/t", base_model="models/m", state=tuned_model_pb2.TunedModel.ACTIVE
    )
    assert to_json(model) == {"name": "tunedModels/t", "baseModel": "models/m", "state": "ACTIVE"}


def test_an_any_under_an_upstream_type_name_is_written_as_our_message() -> None:
    operation = operations_pb2.Operation(name="tunedModels/t/operations/o", done=True)
    operation.response.Pack(
        tuned_model_pb2.TunedModel(name="tunedModels/t"),
        type_url_prefix="type.googleapis.com/",
    )
    operation.response.type_url = (
        "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel"
    )
    assert to_json(operation)["response"] == {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel",
        "name": "tunedModels/t",
    }
