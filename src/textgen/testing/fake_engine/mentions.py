"""What a prompt says that can fill a function call's arguments, read once per call.

Each argument takes what the text offers for its kind (function_calls documents the order
in which arguments are filled):

* a number: the first unused number written within a few words after the argument's name
  (``brightness to 30``; names of three or more characters, ``color_temp`` and
  ``colorTemp`` read as ``color temp``), else the next unused number in the text; numbers
  inside quotes do not count;
* a string: the next unused double-quoted text, else the next unused name, a run of
  capitalised words that does not start a sentence (``Boston``, ``San Francisco``);
* a choice among enum values: the value the text mentions first (a whole word, ignoring
  case, with ``_`` and ``-`` read as spaces);
* a boolean: true when the text says ``true``, ``yes`` or ``enable(d)``, or names the
  argument without ``no``, ``not``, ``without`` or ``don't`` just before it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_QUOTED = re.compile(r"\"([^\"]*)\"|“([^”]*)”")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_YES = re.compile(r"\b(?:true|yes|enabled?)\b", re.IGNORECASE)
# A run of capitalised words, and what may come before one that starts a sentence.
_NAME = re.compile(r"\b[A-Z][\w'-]*(?: [A-Z][\w'-]*)*")
_SENTENCE_ENDS = ".!?:;\n"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NEGATION = re.compile(r"\b(?:no|not|without|don't|dont|never)\s+(?:\w+\s+)?$", re.IGNORECASE)
# How far before a name a negation is looked for, in characters.
_NEGATION_REACH = 32
# How many words may come between an argument's name and its number.
_GAP_WORDS = 3


def spoken(name: str) -> str:
    """A name as words: ``colorTemp`` and ``color_temp`` become ``color temp``."""
    return " ".join(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").lower().split())


class Mentions:
    """The quoted texts, numbers and names of one text, each given out once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._quoted = [first or second for first, second in _QUOTED.findall(text)]
        # The text with quoted passages blanked out, the same length as text.
        bare = _QUOTED.sub(lambda match: " " * len(match.group()), text)
        self._bare = bare
        self._numbers = [
            (match.start(), value)
            for match in _NUMBER.finditer(bare)
            # A number too long for a float reads as infinite, which no JSON value holds.
            if math.isfinite(value := float(match.group()))
        ]
        self._names = [
            match.group()
            for match in _NAME.finditer(bare)
            if not _starts_sentence(bare, match.start()) and match.group() != "I"
        ]
        self._used: set[int] = set()  # positions of the numbers given out

    def number(self, name: str = "") -> float | None:
        """The number for the argument called name (see the module docstring), or None."""
        if len(name) >= 3:
            words = spoken(name).split()
            pattern = r"\b" + r"\w*\s+".join(map(re.escape, words))
            gap = rf"\w*\W+(?:[^\W\d]+\W+){{0,{_GAP_WORDS}}}?"
            for match in re.finditer(pattern + gap + r"(?=-?\d)", self._bare, re.IGNORECASE):
                found = self._take(match.end())
                if found is not None:
                    return found
        return self._take(None)

    def _take(self, at: int | None) -> float | None:
        for position, value in self._numbers:
            if position not in self._used and (at is None or position == at):
                self._used.add(position)
                return value
        return None

    def string(self) -> str:
        """The next unused quoted text, else the next unused name, else ""."""
        found: str = ""
        if self._quoted:
            found = self._quoted.pop(0)
        elif self._names:
            found = self._names.pop(0)
        return found

    def choice(self, values: Sequence[str]) -> str | None:
        """The value the text mentions first, or None."""
        spotted = [
            (match.start(), index)
            for index, value in enumerate(values)
            if (words := spoken(value))
            and (match := re.search(rf"\b{re.escape(words)}\b", spoken_text(self.text)))
        ]
        return values[min(spotted)[1]] if spotted else None

    def boolean(self, name: str = "") -> bool:
        """Whether the text says yes, or names the argument without negating it."""
        if _YES.search(self.text) is not None:
            return True
        if len(name) < 3:
            return False
        text = spoken_text(self.text)
        for match in re.finditer(rf"\b{re.escape(spoken(name))}", text):
            before = text[max(0, match.start() - _NEGATION_REACH) : match.start()]
            if _NEGATION.search(before) is None:
                return True
        return False


def _starts_sentence(text: str, at: int) -> bool:
    """Whether only whitespace after a sentence's end (or nothing) comes before position at."""
    while at > 0 and text[at - 1].isspace() and text[at - 1] != "\n":
        at -= 1
    return at == 0 or text[at - 1] in _SENTENCE_ENDS


def spoken_text(text: str) -> str:
    """text lower-cased, with ``_`` and ``-`` as spaces (how spoken names appear in it)."""
    return text.lower().replace("_", " ").replace("-", " ")
