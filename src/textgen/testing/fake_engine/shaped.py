"""A plain answer that the request shapes: its length, its choice of words, a recited source.

The fake engine writes a plain answer with prose.paragraph unless the request sets a
penalty or logit_bias (penalties), the prompt asks for a length (lengths), or it quotes a
known source (citations). Then `Shaped` writes it: paragraph's sentences, or the requested
length, with each word picked by penalties.WordChooser when the request sets any, and the
quoted passage first. Without penalties or a length, the words are paragraph's own, so
quoting a source adds the passage and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from textgen.server.engine import SamplingParams
from textgen.testing.fake_engine import citations, lengths
from textgen.testing.fake_engine.penalties import WordChooser
from textgen.testing.fake_engine.prose import digest, paragraph, seeded


class Shaped:
    """How every candidate of one request is written (each from its own key)."""

    def __init__(self, params: SamplingParams, prompt: str, words: tuple[str, ...]) -> None:
        self.length = lengths.requested(prompt)
        source = citations.quoted_source(prompt)
        self.source = source
        self.cited: tuple[citations.Source, ...] = () if source is None else (source,)
        self._params = params
        self._words = words
        self._penalized = bool(
            params.presence_penalty or params.frequency_penalty or params.logit_bias
        )

    def answer(self, key: tuple[object, ...]) -> str:
        """One candidate's text; key is what its random draws are seeded by."""
        if self.length is None and not self._penalized:
            text = paragraph(digest(*key), self._words)
        elif self.length is None:
            text = _penalized_paragraph(digest(*key), self._chooser())
        else:
            source = seeded(*key, "length")
            cap = self._params.max_output_tokens
            text = "".join(lengths.sentences(self.length, source, self._chooser(), cap))
        return text if self.source is None else citations.recited(self.source, text)

    def _chooser(self) -> Callable[[int], str]:
        if not self._penalized:
            words = self._words
            return lambda drawn: words[drawn % len(words)]
        params = self._params
        chooser = WordChooser(
            self._words, params.presence_penalty, params.frequency_penalty, params.logit_bias
        )
        return chooser.choose


def _penalized_paragraph(draws: bytes, choose: Callable[[int], str]) -> str:
    """prose.paragraph's sentences (the same lengths and endings, from the same bytes), with
    each word picked by choose from its byte."""
    sentences = []
    at = 1
    for _ in range(2 + draws[0] % 3):
        count = 4 + draws[at] % 6
        start = at + 1
        sentence = " ".join([choose(byte) for byte in draws[start : start + count]])
        ending = ".!?."[draws[start + count] % 4]
        sentences.append(sentence[0].upper() + sentence[1:] + ending)
        at = start + count + 1
    return " ".join(sentences)
