"""The plugin's sync fixtures, as an outside project uses them."""

import grpc
import pytest
from textgen.v1 import model_service_pb2, model_service_pb2_grpc, text_pb2

import textgen
from textgen.testing import FakeServer


def test_channel_fixture(textgen_server: FakeServer, textgen_channel: grpc.Channel) -> None:
    stub = model_service_pb2_grpc.ModelServiceStub(textgen_channel)
    request = model_service_pb2.GenerateTextRequest(
        model="models/text-bison-001", prompt=text_pb2.TextPrompt(text="Say hello")
    )
    assert stub.GenerateText(request).candidates[0].output
    textgen_server.journal.assert_called("GenerateText", times=1)


@pytest.mark.textgen_server(clock="manual", api_keys={"secret": "alice"})
def test_marker_and_client(textgen_server: FakeServer) -> None:
    with textgen.Client(textgen_server.target, api_key="secret") as client:
        assert client.models.get("models/text-bison-001").name == "models/text-bison-001"
    with (
        textgen.Client(textgen_server.target) as client,
        pytest.raises(textgen.errors.Unauthenticated),
    ):
        client.models.get("models/text-bison-001")
