"""client.datasets against the real servicers (FakeServer), on both shells; the Upload plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from textgen.v1 import dataset_pb2, message_pb2, model_service_pb2

from tests.client.conftest import Api
from textgen import errors
from textgen._calls import method, upload
from textgen.resources.datasets import UPLOAD_DATASET
from textgen.rows import JsonlError, PromptRow, to_prompt
from textgen.testing.fake_server import FakeServer

APIS = ("textgen", "generativelanguage", "yandex")


def texts(rows: list[PromptRow]) -> list[str | None]:
    return [row.text for row in rows]


async def test_small_dataset_is_created_in_one_call(live: Api, fake: FakeServer) -> None:
    rows = [
        "plain text",
        [{"role": "user", "content": "hi"}, "there"],
        {"text": "from a dict"},
        {"messages": [{"author": "a", "text": "b"}]},
        dataset_pb2.DatasetPrompt(text="a proto"),
    ]
    created = await live(
        lambda c: c.datasets.create(rows, display_name="small", labels={"kind": "demo"})
    )
    assert created.row_count == 5 and created.kind == dataset_pb2.Dataset.KIND_PROMPTS
    assert created.display_name == "small" and dict(created.labels) == {"kind": "demo"}
    fake.journal.assert_called("CreateDataset", times=1)
    fake.journal.assert_not_called("UploadDataset")
    read = await live.items(lambda c: c.datasets.read(created.name))
    assert [row.index for row in read] == [0, 1, 2, 3, 4]
    assert texts(read) == ["plain text", None, "from a dict", None, "a proto"]
    assert [(m.author, m.content) for m in read[1].messages] == [("user", "hi"), ("1", "there")]
    assert [(m.author, m.content) for m in read[3].messages] == [("a", "b")]


async def test_large_dataset_streams_up_in_chunks(live: Api, fake: FakeServer) -> None:
    produced: list[int] = []

    def rows() -> Iterator[str]:  # a generator: read only as the upload sends
        for i in range(2345):
            produced.append(i)
            yield f"row {i}"

    created = await live(lambda c: c.datasets.create(rows(), dataset_id="big"))
    assert created.name == "datasets/big" and created.row_count == 2345
    fake.journal.assert_not_called("CreateDataset")
    sent = fake.journal.assert_called("UploadDataset", times=1)[0].requests
    assert sent[0].WhichOneof("payload") == "header" and sent[0].header.dataset_id == "big"
    assert [len(m.chunk.rows) for m in sent[1:]] == [500, 500, 500, 500, 345]
    assert len(produced) == 2345
    read = await live.items(lambda c: c.datasets.read("big"))
    assert texts(read) == [f"row {i}" for i in range(2345)]
    tail = await live.items(lambda c: c.datasets.read("big", start_index=2340))
    assert [row.index for row in tail] == [2340, 2341, 2342, 2343, 2344]


async def test_upload_failure_from_the_server(live: Api) -> None:
    await live(lambda c: c.datasets.create(["x"], dataset_id="taken"))
    with pytest.raises(errors.AlreadyExists):
        await live(lambda c: c.datasets.create(["y"] * 1001, dataset_id="taken"))


async def test_jsonl_file_streams_up(live: Api, fake: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    lines = [
        json.dumps({"text": "first"}),
        json.dumps({"messages": [{"role": "user", "content": "hello"}]}),
        "",
        json.dumps("a bare string"),
        json.dumps({"messages": [{"author": "0", "text": "a"}, {"author": "1", "text": "b"}]}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    created = await live(lambda c: c.datasets.create_from_jsonl(path, display_name="file"))
    assert created.row_count == 4 and created.display_name == "file"
    fake.journal.assert_called("UploadDataset", times=1)
    read = await live.items(lambda c: c.datasets.read(created.name))
    assert texts(read) == ["first", None, "a bare string", None]
    assert read[1].messages == [message_pb2.Message(author="user", content="hello")]
    assert [m.content for m in read[3].messages] == ["a", "b"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [('{"prompt": "no"}', '"text"'), ("{not json", "Expecting"), ("42", "int")],
)
async def test_jsonl_bad_line_names_it(
    live: Api, fake: FakeServer, tmp_path: Path, bad: str, reason: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(f'{{"text": "ok"}}\n\n{bad}\n{{"text": "never sent"}}\n', encoding="utf-8")
    with pytest.raises(JsonlError, match=reason) as caught:
        await live(lambda c: c.datasets.create_from_jsonl(path))
    assert caught.value.line == 3 and caught.value.path == str(path)
    assert "line 3" in str(caught.value)
    assert await live.items(lambda c: c.datasets.list()) == []  # the upload was cancelled


async def test_list_get_delete(live: Api, fake: FakeServer) -> None:
    names = []
    for row in ["r0", "r1", "r2"]:
        names.append((await live(lambda c: c.datasets.create([row]))).name)  # noqa: B023
    listed = await live.items(lambda c: c.datasets.list(page_size=2))
    assert [d.name for d in listed] == names
    fake.journal.assert_called("ListDatasets", times=2)
    got = await live(lambda c: c.datasets.get(names[0].removeprefix("datasets/")))
    assert got.name == names[0] and got.row_count == 1
    await live(lambda c: c.datasets.delete(names[0]))
    with pytest.raises(errors.NotFound):
        await live(lambda c: c.datasets.get(names[0]))
    remaining = await live.items(lambda c: c.datasets.list())
    assert [d.name for d in remaining] == names[1:]


async def test_bad_rows_are_refused_before_sending(live: Api, fake: FakeServer) -> None:
    with pytest.raises(ValueError, match="at least one message"):
        await live(lambda c: c.datasets.create(["fine", []]))
    with pytest.raises(TypeError, match="int"):
        await live(lambda c: c.datasets.create([7]))
    with pytest.raises(ValueError, match="content"):
        await live(lambda c: c.datasets.create([[{"role": "user"}]]))
    fake.journal.assert_not_called("CreateDataset")
    assert to_prompt({"text": "t"}) == dataset_pb2.DatasetPrompt(text="t")


def test_upload_plans_need_a_client_streaming_method() -> None:
    unary = method(
        "textgen.v1.ModelService",
        "CountTokens",
        model_service_pb2.CountTokensRequest,
        model_service_pb2.CountTokensResponse,
        idempotent=True,
    )
    with pytest.raises(ValueError, match="not a client-streaming"):
        upload(unary, [])
    with pytest.raises(ValueError, match="cannot be idempotent"):
        method(
            "textgen.v1.DatasetService",
            "UploadDataset",
            UPLOAD_DATASET.request_type,
            UPLOAD_DATASET.response_type,
            idempotent=True,
            client_streaming=True,
        )
    plan = upload(UPLOAD_DATASET, [])
    assert plan.method is UPLOAD_DATASET and plan.parse("reply") == "reply"


async def test_upload_is_never_resent(live: Api, fake: FakeServer) -> None:
    fake.script("UploadDataset").fail(grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(errors.Unavailable):
        await live(lambda c: c.datasets.create(f"r{i}" for i in range(1001)))
    fake.journal.assert_called("UploadDataset", times=1)
