"""Kept: a dict that holds at most its size, emptied before it would grow past it."""

from __future__ import annotations

from textgen._kept import Kept


def test_a_kept_dict_never_holds_more_than_its_size() -> None:
    kept: Kept[int, str] = Kept(3)
    for number in range(10):
        assert kept.keep(number, str(number)) == str(number)
        assert len(kept) <= 3
        assert kept[number] == str(number)
    # 0-2 filled it, so 3 emptied it first; then 6 did, and 9.
    assert kept == {9: "9"}


def test_replacing_a_kept_key_does_not_empty_a_full_dict() -> None:
    kept: Kept[str, int] = Kept(2)
    kept.keep("a", 1)
    kept.keep("b", 2)
    kept.keep("a", 3)
    assert kept == {"a": 3, "b": 2}
    kept.keep("c", 4)
    assert kept == {"c": 4}
