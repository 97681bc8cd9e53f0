"""Pagers: iterate every item of a list call, fetching pages lazily as the loop goes.

A pager also keeps a current page, as google-genai's pagers do: `pager[0]` is an item of it
(the first page, fetched on first use), `pager.page` its items, `pager.next_page()` moves
on and returns the new page's items, and `pager.page_size` is the size asked for. Iterating
always walks every item from the first page, whatever the current page is.

The asyncio pager needs its first page fetched before it can be indexed: `await pager`
fetches it and returns the pager (so `pager = await client.models.list()` works), as does
`await pager.next_page()`. `async for` needs neither.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, Generic, TypeVar, overload

from textgen._calls import Call, Page, Paged
from textgen._shells import AsyncRunner, SyncRunner

T = TypeVar("T")

__all__ = ["AsyncPager", "Page", "Pager"]


class _Cursor(Generic[T]):
    """What both pagers share: the plan and the page the cursor is on."""

    def __init__(self, plan: Paged[T]) -> None:
        self._plan = plan
        self._page: Page[T] | None = None

    @property
    def page_size(self) -> int:
        """The page size the request asked for (0: the server's default)."""
        return int(getattr(self._plan.first.request, "page_size", 0))

    def _following(self, page: Page[T]) -> Call[Page[T]]:
        if not page.next_page_token:
            raise IndexError("no more pages: this was the last one")
        return self._plan.next(page.next_page_token)

    def _current(self) -> Page[T]:
        if self._page is None:
            raise RuntimeError("the first page is not fetched yet: await the pager first")
        return self._page

    @property
    def page(self) -> list[T]:
        """The items of the current page."""
        return list(self._current().items)

    @property
    def raw(self) -> object:
        """The current page's response proto."""
        return self._current().raw

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        """An item (or slice) of the current page."""
        return self._current().items[index]


class Pager(_Cursor[T]):
    """`for item in pager` walks every page; `pager.pages()` yields the pages themselves."""

    def __init__(self, runner: SyncRunner, plan: Paged[T]) -> None:
        super().__init__(plan)
        self._runner = runner

    def _current(self) -> Page[T]:
        if self._page is None:
            self._page = self._runner.run(self._plan.first)
        return self._page

    def next_page(self) -> list[T]:
        """Fetch the page after the current one (the pager starts on the first), make it
        current, and return its items; IndexError after the last page."""
        self._page = self._runner.run(self._following(self._current()))
        return list(self._page.items)

    def pages(self) -> Iterator[Page[T]]:
        """Each page in turn, fetched when the loop reaches it."""
        c: Call[Page[T]] | None = self._plan.first
        while c is not None:
            page = self._runner.run(c)
            yield page
            c = self._plan.next(page.next_page_token) if page.next_page_token else None

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items


class AsyncPager(_Cursor[T]):
    """`async for item in pager` walks every page; no await is needed to get the pager."""

    def __init__(self, runner: AsyncRunner, plan: Paged[T]) -> None:
        super().__init__(plan)
        self._runner = runner

    def __await__(self) -> Generator[Any, None, AsyncPager[T]]:
        """Fetch the first page (once) and give back the pager itself."""
        return self._first().__await__()

    async def _first(self) -> AsyncPager[T]:
        if self._page is None:
            self._page = await self._runner.run(self._plan.first)
        return self

    async def next_page(self) -> list[T]:
        """Fetch the page after the current one (the pager starts on the first), make it
        current, and return its items; IndexError after the last page."""
        await self._first()
        self._page = await self._runner.run(self._following(self._current()))
        return list(self._page.items)

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Each page in turn, fetched when the loop reaches it."""
        c: Call[Page[T]] | None = self._plan.first
        while c is not None:
            page = await self._runner.run(c)
            yield page
            c = self._plan.next(page.next_page_token) if page.next_page_token else None

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
