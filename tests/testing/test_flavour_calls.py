"""Calls by an upstream API's names go through every policy as calls of our own methods: the
journal records our method (and the path and flavour they came by), scripts play for them,
keys are checked, and fields we do not model are refused."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from textgen.v1 import model_service_pb2, model_service_pb2_grpc

from tests.testing import requests
from textgen.errors import status_of
from textgen.testing.fake_server import FakeServer

GENERATE_TEXT = "/google.ai.generativelanguage.v1beta.TextService/GenerateText"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(api_keys={"k": "alice"}) as server:
        yield server


def generate_text(
    fake: FakeServer,
    request: bytes,
    metadata: tuple[tuple[str, str], ...] = (("x-goog-api-key", "k"),),
) -> model_service_pb2.GenerateTextResponse:
    with fake.channel() as channel:
        call = channel.unary_unary(
            GENERATE_TEXT,
            request_serializer=lambda data: data,
            response_deserializer=model_service_pb2.GenerateTextResponse.FromString,
        )
        return call(request, metadata=metadata, timeout=10)


def test_the_journal_records_our_method_and_the_path_it_came_by(fake: FakeServer) -> None:
    generate_text(fake, requests.generate_text("hi").SerializeToString())
    call = fake.journal.last("GenerateText")
    assert call.method == "/textgen.v1.ModelService/GenerateText"
    assert (call.path, call.api) == (GENERATE_TEXT, "generativelanguage")
    assert call.request.prompt.text == "hi"
    assert call.header("x-goog-api-key") == "k"
    with fake.channel() as channel:
        fake.journal.clear()
        model_service_pb2_grpc.ModelServiceStub(channel).GenerateText(
            requests.generate_text(), metadata=(("x-api-key", "k"),)
        )
    own = fake.journal.last("GenerateText")
    assert (own.path, own.api) == ("/textgen.v1.ModelService/GenerateText", "textgen")


def test_a_script_for_our_method_plays_for_the_upstream_name(fake: FakeServer) -> None:
    fake.script("GenerateText").fail(grpc.StatusCode.UNAVAILABLE, "warming up")
    with pytest.raises(grpc.RpcError) as failed:
        generate_text(fake, requests.generate_text().SerializeToString())
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert generate_text(fake, requests.generate_text().SerializeToString()).candidates


def test_keys_are_checked_on_upstream_names(fake: FakeServer) -> None:
    request = requests.generate_text().SerializeToString()
    with pytest.raises(grpc.RpcError) as refused:
        generate_text(fake, request, metadata=())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert generate_text(fake, request, metadata=(("authorization", "Api-Key k"),)).candidates
    fake.journal.assert_called("GenerateText", times=1)


def test_fields_we_do_not_model_are_refused_on_upstream_names(fake: FakeServer) -> None:
    # Field 99 of GenerateTextRequest is defined nowhere: a varint 1 under that number.
    request = requests.generate_text().SerializeToString() + b"\x98\x06\x01"
    with pytest.raises(grpc.RpcError) as refused:
        generate_text(fake, request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = status_of(refused.value)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["#99"]
