"""Fakes for tests: a deterministic engine, an in-process fake server and a pytest plugin."""
