"""client.chats: history kept across send_message and send_message_stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from textgen.v1 import content_pb2, generation_pb2, model_service_pb2

from tests.client.conftest import Api
from tests.client.stub_server import StubServer
from textgen.resources._content import GENERATE_CONTENT, STREAM_GENERATE_CONTENT

pb = model_service_pb2


def _reply(text: str) -> pb.GenerateContentResponse:
    part = content_pb2.Part(text=text)
    return pb.GenerateContentResponse(
        candidates=[
            generation_pb2.Candidate(content=content_pb2.Content(role="model", parts=[part]))
        ]
    )


def _echo(request: pb.GenerateContentRequest, context: Any) -> pb.GenerateContentResponse:
    return _reply(f"turns={len(request.contents)}")


APIS = ("textgen", "generativelanguage", "yandex")


async def test_send_message_keeps_history(api: Api, stub: StubServer) -> None:
    stub.script(GENERATE_CONTENT, _echo)
    chat = api.client.chats.create("gem", config={"temperature": 0})
    assert (await api(lambda c: chat.send_message("hi"))).text == "turns=1"
    assert (await api(lambda c: chat.send_message("again"))).text == "turns=3"
    assert [t.role for t in chat.history] == ["user", "model", "user", "model"]
    assert stub.calls(GENERATE_CONTENT)[0].request.model == "models/gem"


async def test_send_message_stream_records_the_merged_answer(api: Api, stub: StubServer) -> None:
    def pieces(request: Any, context: Any) -> Iterator[pb.GenerateContentResponse]:
        yield _reply("Hel")
        yield _reply("lo")

    stub.script(STREAM_GENERATE_CONTENT, pieces)
    history = [content_pb2.Content(role="user", parts=[content_pb2.Part(text="earlier")])]
    chat = api.client.chats.create("gem", history=history)
    chunks = await api.items(lambda c: chat.send_message_stream("hi"))
    assert [c.text for c in chunks] == ["Hel", "lo"]
    assert len(stub.calls(STREAM_GENERATE_CONTENT)[0].request.contents) == 2
    assert chat.history[-1].parts[0].text == "Hello"
    assert len(chat.history) == 3
