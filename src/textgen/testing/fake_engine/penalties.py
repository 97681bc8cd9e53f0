"""Presence and frequency penalties and logit_bias, as a rule for picking each word.

A plain answer's words are drawn from the vocabulary (prose.vocabulary). When a request sets
presence_penalty, frequency_penalty or logit_bias, every word the answer may use is scored
before each pick::

    score(word) = presence_penalty * (1 if used yet else 0)
                + frequency_penalty * (times used so far)
                - logit_bias(word)

and the drawn word is replaced by the lowest-scoring word, the first such word at or after
the drawn one in vocabulary order (wrapping round). When every word scores the same, the
drawn word stays. So, in one candidate:

* presence_penalty > 0: no word repeats until every word has been used;
* frequency_penalty > 0: the least-used word comes next, so counts stay within one of each
  other;
* a negative penalty: words already used come back (the answer repeats itself);
* logit_bias maps a token (the word itself, or its id as logprobs.token_id gives it, as a
  string) to a bias: a positive bias beats any word without one, and a word outside the
  vocabulary joins it (an id outside it is ignored); a bias of -100 or less bans the word.
"""

from __future__ import annotations

from collections.abc import Sequence

from textgen.testing.fake_engine.logprobs import token_id

# A bias at or below this bans its token.
BANNED = -100.0


class WordChooser:
    """Picks each word of one candidate, keeping count of the words it has picked."""

    def __init__(
        self,
        words: Sequence[str],
        presence: float,
        frequency: float,
        bias: Sequence[tuple[str, float]] = (),
    ) -> None:
        by_token = dict(bias)
        biased = {word: _bias(word, by_token) for word in words}
        # A favoured token outside the vocabulary joins it, unless it is an id (digits): the
        # fake cannot tell which word an unknown id stands for.
        extra = [
            token
            for token, value in bias
            if value > 0 and token not in biased and not token.isdigit()
        ]
        biased.update((token, by_token[token]) for token in extra)
        allowed = [word for word, value in biased.items() if value > BANNED]
        # Every word banned: the vocabulary stands as it was (an answer needs words).
        self.words: tuple[str, ...] = tuple(allowed or words)
        self._bias = [biased.get(word, 0.0) for word in self.words]
        self._presence = presence
        self._frequency = frequency
        self._counts = [0] * len(self.words)

    def choose(self, drawn: int) -> str:
        """The word to use for a draw of `drawn` (any int: taken modulo the word count)."""
        size = len(self.words)
        scores = [
            self._presence * (count > 0) + self._frequency * count - bias
            for count, bias in zip(self._counts, self._bias, strict=True)
        ]
        lowest = min(scores)
        start = drawn % size
        index = next(
            (start + step) % size for step in range(size) if scores[(start + step) % size] == lowest
        )
        self._counts[index] += 1
        return self.words[index]


def _bias(word: str, by_token: dict[str, float]) -> float:
    if not by_token:
        return 0.0
    found = by_token.get(word)
    return found if found is not None else by_token.get(str(token_id(word)), 0.0)
