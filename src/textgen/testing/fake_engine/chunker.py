"""A text answer cut and split for streaming while it is still being written.

The fake engine cuts a text answer just before its first stop sequence, then after
max_output_tokens tokens, and streams the result in chunks of at most STREAM_CHUNK_TOKENS
tokens (see tokenizer.truncate and tokenizer.chunks). `Chunker` does the same to text that
arrives in fragments: each chunk leaves as soon as nothing still to come can change it, so
the first chunk of a long answer does not wait for the rest, and the writer is asked for no
more once the answer has ended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from textgen.testing.fake_engine.tokenizer import TOKEN_PATTERN, end_of_previous

_WORD_CHAR = re.compile(r"\w")


class Chunker:
    """Chunks of an answer written in fragments; after them, how the answer ended.

    `chunks(fragments)` yields exactly `tokenizer.chunks(truncate(before_stop(text)), size)`
    for `text = "".join(fragments)`. Then `cut` says whether max_output_tokens cut it and
    `tokens` is how many tokens it kept.
    """

    def __init__(self, stop_sequences: Sequence[str], limit: int, size: int) -> None:
        self._stops = [stop for stop in stop_sequences if stop]
        # A stop sequence may begin in the last `hold` characters of the text so far.
        self._hold = max(map(len, self._stops), default=1) - 1
        self._limit = limit
        self._size = size
        self._pending = ""  # written text that a stop sequence might still end before
        self._text = ""  # kept text from the last cut on, not yet sent
        self._scanned = 0  # self._text[:_scanned] holds only tokens already counted
        self.tokens = 0
        self.cut = False
        self.ended = False

    def chunks(self, fragments: Iterable[str]) -> Iterator[str]:
        """The answer's chunks, each as soon as it is settled."""
        for fragment in fragments:
            yield from self._take(fragment, last=False)
            if self.ended:
                return
        yield from self._take("", last=True)

    def _take(self, fragment: str, *, last: bool) -> Iterator[str]:
        kept, final = self._keep(self._pending + fragment, last=last)
        text = self._text + kept
        # Whole tokens from _scanned on; a word that reaches the end may go on in the next
        # fragment, so it waits (unless this is the end).
        waits = not final and bool(text) and _WORD_CHAR.match(text, len(text) - 1) is not None
        base = 0
        scanned = len(text)
        for match in TOKEN_PATTERN.finditer(text, self._scanned):
            start = match.start()
            if waits and match.end() == len(text):
                scanned = start
                break
            if self.tokens == self._limit:
                end = end_of_previous(text, start)
                if end > base:
                    yield text[base:end]
                self.cut = self.ended = True
                return
            if self.tokens and self.tokens % self._size == 0:
                at = end_of_previous(text, start)
                if at > base:
                    yield text[base:at]
                base = at
            self.tokens += 1
        if final:
            if len(text) > base:
                yield text[base:]
            self.ended = True
            return
        self._text, self._scanned = text[base:], scanned - base

    def _keep(self, pending: str, *, last: bool) -> tuple[str, bool]:
        """The part of pending that is surely in the answer, and whether the answer ends
        with it; the rest stays pending."""
        if not self._stops:
            return pending, last
        found = [at for at in map(pending.find, self._stops) if at >= 0]
        end = min(found, default=-1)
        if end >= 0 and (last or end <= len(pending) - self._hold):
            return pending[:end], True  # no other stop sequence can begin before it
        if last:
            return pending, True
        safe = max(0, len(pending) - self._hold)
        if end >= 0:
            safe = min(safe, end)
        self._pending = pending[safe:]
        return pending[:safe], False
