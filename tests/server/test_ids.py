"""Generated ids: unique across restarts unless a seed asks for a repeatable sequence."""

from __future__ import annotations

from textgen.cli import build_parser
from textgen.server.state import IdGenerator


def test_unseeded_ids_differ_from_run_to_run() -> None:
    """With the default seed a restarted server re-issued the same 8 of 8 names."""
    first = [IdGenerator().suffix(12) for _ in range(8)]
    restarted = [IdGenerator().suffix(12) for _ in range(8)]
    assert not set(first) & set(restarted)
    assert not IdGenerator().seeded


def test_a_seed_repeats_the_sequence_and_reseeding_to_none_ends_it() -> None:
    seeded = IdGenerator(7)
    assert seeded.seeded
    run = [seeded.suffix(12) for _ in range(4)]
    again = IdGenerator(7)
    assert [again.suffix(12) for _ in range(4)] == run
    seeded.reseed(None)
    assert not seeded.seeded and seeded.suffix(12) not in run


def test_textgen_serve_leaves_ids_unseeded_by_default() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.seed is None
    assert build_parser().parse_args(["serve", "--seed", "3"]).seed == 3
