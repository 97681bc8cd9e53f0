"""`textgen count-tokens` and `textgen embed`."""

from __future__ import annotations

from tests.cli.conftest import Cli
from textgen.testing import FakeServer


def test_count_tokens_content_model(cli: Cli, fake: FakeServer) -> None:
    result = cli("count-tokens", "gemini-1.5-flash", "hello big world")
    assert result.status == 0
    assert result.out == "3 tokens\n"
    fake.journal.assert_called("CountTokens", times=1)


def test_count_tokens_text_model_json(cli: Cli, fake: FakeServer) -> None:
    result = cli("--json", "count-tokens", "text-bison-001", "hello world")
    assert result.json() == {"model": "models/text-bison-001", "api": "text", "total_tokens": 2}
    fake.journal.assert_called("CountTextTokens", times=1)


def test_embed_prints_dimension_and_first_values(cli: Cli) -> None:
    result = cli("embed", "embedding-gecko-001", "hello", "world")
    assert result.status == 0
    lines = result.out.splitlines()
    assert lines[0] == "2 embeddings of dimension 768"
    assert lines[1].startswith("'hello': [")
    assert lines[1].endswith(", ...]")
    assert lines[1].count(",") == 5  # five values, then the ellipsis


def test_embed_json_has_full_vectors(cli: Cli, fake: FakeServer) -> None:
    result = cli("--json", "embed", "embedding-gecko-001", "hello", "world")
    data = result.json()
    assert data["dimension"] == 768
    assert [e["text"] for e in data["embeddings"]] == ["hello", "world"]
    assert all(len(e["values"]) == 768 for e in data["embeddings"])
    fake.journal.assert_called("BatchEmbedText", times=1)


def test_embed_content_model_with_smaller_dimension(cli: Cli, fake: FakeServer) -> None:
    result = cli("--json", "embed", "text-embedding-004", "hello", "--dimensions", "8")
    data = result.json()
    assert data["api"] == "content"
    assert data["dimension"] == 8
    assert len(data["embeddings"][0]["values"]) == 8
    fake.journal.assert_called("EmbedContent", times=1)


def test_embed_task_type_needs_a_content_model(cli: Cli) -> None:
    result = cli("embed", "embedding-gecko-001", "hello", "--task-type", "CLUSTERING")
    assert result.status == 2
    assert "content embedding model" in result.err
