"""The deterministic fake engine and its parts: catalog, tokenizer, prose, embeddings, harm
markers, directives, function calls, JSON values and tuning memory."""

from textgen.testing.fake_engine.engine import FakeEngine

__all__ = ["FakeEngine"]
