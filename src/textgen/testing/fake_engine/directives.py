"""System-instruction directives the fake engine obeys, so tests can steer its text answers.

The system instruction's text parts are read line by line, case-insensitively:

* ``respond: <text>`` -- every text answer is exactly ``<text>`` (the first such line wins).
* ``uppercase`` or ``lowercase`` as a word on any other line -- the answer's letters change case
  (if both appear, the first one wins).
* ``prefix: <text>`` -- the answer starts with ``<text>`` and one space; the prefix is added
  after the case change, so it appears exactly as written.

Directives shape plain-text answers only: JSON-mode answers and function calls ignore them.
Stop sequences and max_output_tokens apply to the directed text afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textgen.v1 import content_pb2

_CASE = re.compile(r"\b(uppercase|lowercase)\b", re.IGNORECASE)
# Leading blanks are matched with [^\S\n] (whitespace other than a newline), never \s: a
# pattern whose leading \s* can run across line ends is retried from every line start, so a
# run of blank lines cost time quadratic in its length. Kept to one line, every pattern here
# looks at each character a bounded number of times.
_KEYED_LINE = re.compile(r"^[^\S\n]*(respond|prefix):.*$", re.IGNORECASE | re.MULTILINE)
_VALUES = {
    key: re.compile(rf"^[^\S\n]*{key}:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)
    for key in ("respond", "prefix")
}


@dataclass(frozen=True)
class Directives:
    """What a system instruction asks of every text answer."""

    respond: str | None = None
    case: str | None = None
    prefix: str | None = None

    @classmethod
    def parse(cls, instruction: content_pb2.Content | None) -> Directives:
        """The directives in instruction's text; none when it is absent."""
        if instruction is None:
            return cls()
        text = "\n".join(part.text for part in instruction.parts if part.HasField("text"))
        case = _CASE.search(_KEYED_LINE.sub("", text))
        return cls(
            respond=_line_value(text, "respond"),
            case=case.group(1).lower() if case else None,
            prefix=_line_value(text, "prefix"),
        )

    def apply(self, answer: str) -> str:
        """answer reshaped by these directives."""
        if self.respond is not None:
            answer = self.respond
        if self.case == "uppercase":
            answer = answer.upper()
        elif self.case == "lowercase":
            answer = answer.lower()
        if self.prefix is not None:
            answer = f"{self.prefix} {answer}"
        return answer


def _line_value(text: str, key: str) -> str | None:
    # The rest of the first line that starts with the key, without its trailing whitespace
    # (stripped here rather than by a lazy group and \s*$, which would backtrack).
    match = _VALUES[key].search(text)
    return match.group(1).rstrip() if match else None
