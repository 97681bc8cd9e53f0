"""The fake engine's one tokenizer: every word and every punctuation mark is a token.

A token is a run of word characters (letters, digits, underscore; Unicode-aware) or a single
character that is neither a word character nor whitespace. Whitespace is never a token, so::

    count_tokens("Hello, world!")   # 4: "Hello" "," "world" "!"
    count_tokens("unsafe:violence:high")   # 5
    count_tokens("")   # 0

Counting, truncation to max_output_tokens and candidate token counts all use these rules.
"""

from __future__ import annotations

import itertools
import re

TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")
# The ASCII characters that are tokens on their own: neither word characters nor whitespace
# (str.isspace and the pattern's \s agree on which characters are whitespace).
_MARKS = "".join(
    char for char in map(chr, range(128)) if not (char.isalnum() or char == "_" or char.isspace())
)
# bytes.split() knows fewer whitespace characters than str does (not \x1c-\x1f), so the
# table turns those into spaces as well as the marks.
_UNSPLIT_SPACES = "".join(
    char for char in map(chr, range(128)) if char.isspace() and not char.encode().isspace()
)
_MARK_BYTES = _MARKS.encode()
_SEPARATORS = bytes.maketrans(
    (_MARKS + _UNSPLIT_SPACES).encode(), b" " * len(_MARKS + _UNSPLIT_SPACES)
)


def tokens(text: str) -> list[str]:
    """The tokens of text, in order."""
    return TOKEN_PATTERN.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens text holds."""
    if not text.isascii():
        return len(TOKEN_PATTERN.findall(text))
    # ASCII text (nearly all of it) is counted as bytes, without building the tokens: each
    # mark is a token, and so is each run of word characters left once marks are spaces.
    data = text.encode()
    marks = len(data) - len(data.translate(None, _MARK_BYTES))
    return marks + len(data.translate(_SEPARATORS).split())


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """The longest prefix of text holding at most limit tokens, and whether text was cut.

    The prefix ends right after its last token, so whitespace that followed it is dropped.
    """
    first_cut = next(itertools.islice(TOKEN_PATTERN.finditer(text), limit, None), None)
    if first_cut is None:
        return text, False
    return text[: end_of_previous(text, first_cut.start())], True


def chunks(text: str, size: int) -> list[str]:
    """Text split into pieces of at most size tokens whose concatenation is text.

    Whitespace before a token travels with it, as it would in a streamed answer.
    """
    starts = [match.start() for match in TOKEN_PATTERN.finditer(text)]
    cuts = [end_of_previous(text, start) for start in starts[size::size]]
    bounds = [0, *cuts, len(text)]
    return [text[begin:end] for begin, end in itertools.pairwise(bounds) if end > begin]


def end_of_previous(text: str, start: int) -> int:
    """Where the whitespace before position start begins (looking back only that far): the
    end of the token before start, or 0."""
    while start > 0 and text[start - 1].isspace():
        start -= 1
    return start
