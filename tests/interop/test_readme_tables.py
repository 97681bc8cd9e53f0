"""The README's tables of official-client calls are exactly what the interop tests list
(tests/interop/official_calls.py), and every row names a test that exists."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "google.ai.generativelanguage_v1beta",
    reason="google-ai-generativelanguage is installed in the latest leg only (protobuf 6.33+)",
)
pytest.importorskip("yandex.cloud.operation", reason="yandexcloud is in the latest leg only")

from tests.interop import (
    official_calls,
    test_official_google,
    test_official_yandex,
    test_official_yandex_batch_inference,
)


@pytest.mark.parametrize("name", ["google", "yandex"])
def test_the_readme_table_is_the_tests_list(name: str) -> None:
    assert official_calls.readme_table(name) == official_calls.tables()[name], (
        "regenerate with: python -m tests.interop.official_calls"
    )


def test_every_row_names_a_test_of_its_module() -> None:
    for module, rows in (
        (test_official_google, test_official_google.table_rows()),
        (test_official_yandex, test_official_yandex.ROWS),
        (test_official_yandex_batch_inference, test_official_yandex_batch_inference.ROWS),
    ):
        for row in rows:
            assert callable(getattr(module, row.test, None)), (module.__name__, row.test)
