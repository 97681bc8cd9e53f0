"""A suite that knows nothing of textgen: installing the package must not break it."""


def test_arithmetic_still_works() -> None:
    assert sum(range(5)) == 10
