"""Citations: the sources the fake engine knows, and citation metadata for answers that quote one.

When the last turn quotes, between double quotes ("..." or “...”), the opening words of a
passage below (at least QUOTED_WORDS of them, or the whole passage, compared without case,
punctuation or extra spaces), a plain-text answer starts with that whole passage, as a model
reciting it would, and the candidate's citation_metadata has one CitationSource: the
passage's span in the answer (start_index and end_index, in characters of the final text),
the source's uri and, for code, its licence. When stop sequences or max_output_tokens cut the
answer inside the passage, the span covers the part that is left; when they cut it before,
there is no citation. JSON answers and function calls carry no citation.

The catalogue (SOURCES):

=====================================  ==================================================
passage (first words)                  uri (licence)
=====================================  ==================================================
To be, or not to be, ...               https://www.gutenberg.org/ebooks/1524
It was the best of times, ...          https://www.gutenberg.org/ebooks/98
Call me Ishmael. ...                   https://www.gutenberg.org/ebooks/2701
We hold these truths ...               https://www.archives.gov/founding-docs/declaration-transcript
Beautiful is better than ugly. ...     https://peps.python.org/pep-0020/ (Public Domain)
Permission is hereby granted, ...      https://opensource.org/license/mit (MIT)
=====================================  ==================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from textgen.v1 import citation_pb2

# How many opening words of a passage a quote must hold to name it (fewer: the whole passage).
QUOTED_WORDS = 4


@dataclass(frozen=True)
class Source:
    """A passage the fake engine can recite, and where it comes from."""

    passage: str
    uri: str
    license: str = ""


SOURCES: tuple[Source, ...] = (
    Source(
        "To be, or not to be, that is the question.",
        "https://www.gutenberg.org/ebooks/1524",
    ),
    Source(
        "It was the best of times, it was the worst of times.",
        "https://www.gutenberg.org/ebooks/98",
    ),
    Source(
        "Call me Ishmael.",
        "https://www.gutenberg.org/ebooks/2701",
    ),
    Source(
        "We hold these truths to be self-evident, that all men are created equal.",
        "https://www.archives.gov/founding-docs/declaration-transcript",
    ),
    Source(
        "Beautiful is better than ugly. Explicit is better than implicit.",
        "https://peps.python.org/pep-0020/",
        "Public Domain",
    ),
    Source(
        "Permission is hereby granted, free of charge, to any person obtaining a copy of "
        "this software.",
        "https://opensource.org/license/mit",
        "MIT",
    ),
)

_QUOTED = re.compile(r"\"([^\"]*)\"|“([^”]*)”")
_WORD = re.compile(r"\w+")


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in _WORD.findall(text))


# Each source's opening words, the key a quote is compared with.
_KEYS = [(_words(source.passage)[:QUOTED_WORDS], source) for source in SOURCES]


def quoted_source(prompt: str) -> Source | None:
    """The first known source the prompt quotes, or None."""
    if '"' not in prompt and "“" not in prompt:  # most prompts quote nothing
        return None
    for straight, curly in _QUOTED.findall(prompt):
        quoted = _words(straight or curly)
        for key, source in _KEYS:
            if quoted[: len(key)] == key:
                return source
    return None


def recited(source: Source, answer: str) -> str:
    """The answer as it reads when it recites source: the passage, then the answer."""
    return f"{source.passage} {answer}"


def cite(sources: Sequence[Source], text: str) -> citation_pb2.CitationMetadata | None:
    """Citation metadata for the passages of sources that text holds (whole or cut short at
    its end); None when it holds none."""
    metadata = citation_pb2.CitationMetadata()
    for source in sources:
        start = text.find(source.passage)
        end = start + len(source.passage)
        if start < 0:
            start = _cut_start(source.passage, text)
            end = len(text)
        if start < 0:
            continue
        cited = metadata.citation_sources.add(start_index=start, end_index=end, uri=source.uri)
        if source.license:
            cited.license = source.license
    return metadata if metadata.citation_sources else None


def _cut_start(passage: str, text: str) -> int:
    """Where a passage cut short by the end of text begins: the first place from which the
    rest of text (not blank) begins passage; -1 when there is none. Only the last
    len(passage) characters can hold it, so only they are tried."""
    end = len(text.rstrip())
    for at in range(max(0, end - len(passage)), end):
        if passage.startswith(text[at:end]):
            return at
    return -1
