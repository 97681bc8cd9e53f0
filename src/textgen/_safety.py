"""Safety settings from every form users write: protos, dicts, and the SDKs' shorthand.

The accepted forms, for `generate_content` (Gemini categories) and `generate_text` (the text
service's categories):

* a list of SafetySetting protos, or of dicts such as
  `{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}`;
* one dict from category to threshold, `{"HATE": "MEDIUM", "HARASSMENT": "BLOCK_ONLY_HIGH"}`;
* one threshold alone, `"MEDIUM"`, for every category the method rates.

Names are read case-insensitively, with or without their `HARM_CATEGORY_` and `BLOCK_`
prefixes, and with the short aliases google-generativeai accepts (`hate`, `sex`, `danger`,
`low`, `medium`, `high`, `none`); enum numbers work too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

from textgen.harm_families import CONTENT_CATEGORIES, TEXT_CATEGORIES
from textgen.v1 import safety_pb2

Category = safety_pb2.HarmCategory
Threshold = safety_pb2.SafetySetting.HarmBlockThreshold
Family: TypeAlias = Literal["content", "text"]
SafetyInput: TypeAlias = (
    str | int | Mapping[Any, Any] | Sequence[safety_pb2.SafetySetting | Mapping[str, Any]] | None
)

# The categories each family of methods rates, in the order a shorthand threshold fills them.
CATEGORIES: dict[Family, tuple[Category.ValueType, ...]] = {
    "content": CONTENT_CATEGORIES,
    "text": TEXT_CATEGORIES,
}

# Aliases shared by both families, then those whose meaning depends on the family.
_CATEGORY_ALIASES: dict[str, Category.ValueType] = {
    "derogatory": safety_pb2.HARM_CATEGORY_DEROGATORY,
    "toxicity": safety_pb2.HARM_CATEGORY_TOXICITY,
    "toxic": safety_pb2.HARM_CATEGORY_TOXICITY,
    "violence": safety_pb2.HARM_CATEGORY_VIOLENCE,
    "violent": safety_pb2.HARM_CATEGORY_VIOLENCE,
    "medical": safety_pb2.HARM_CATEGORY_MEDICAL,
    "med": safety_pb2.HARM_CATEGORY_MEDICAL,
    "harassment": safety_pb2.HARM_CATEGORY_HARASSMENT,
    "harass": safety_pb2.HARM_CATEGORY_HARASSMENT,
    "hate_speech": safety_pb2.HARM_CATEGORY_HATE_SPEECH,
    "hate": safety_pb2.HARM_CATEGORY_HATE_SPEECH,
    "sexually_explicit": safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
    "dangerous_content": safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
    "civic_integrity": safety_pb2.HARM_CATEGORY_CIVIC_INTEGRITY,
}
_FAMILY_ALIASES: dict[Family, dict[str, Category.ValueType]] = {
    "content": {
        "sexual": safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
        "sex": safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
        "dangerous": safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
        "danger": safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
    },
    "text": {
        "sexual": safety_pb2.HARM_CATEGORY_SEXUAL,
        "sex": safety_pb2.HARM_CATEGORY_SEXUAL,
        "dangerous": safety_pb2.HARM_CATEGORY_DANGEROUS,
        "danger": safety_pb2.HARM_CATEGORY_DANGEROUS,
    },
}
_THRESHOLD_ALIASES: dict[str, Threshold.ValueType] = {
    "low_and_above": safety_pb2.SafetySetting.BLOCK_LOW_AND_ABOVE,
    "low": safety_pb2.SafetySetting.BLOCK_LOW_AND_ABOVE,
    "medium_and_above": safety_pb2.SafetySetting.BLOCK_MEDIUM_AND_ABOVE,
    "medium": safety_pb2.SafetySetting.BLOCK_MEDIUM_AND_ABOVE,
    "med": safety_pb2.SafetySetting.BLOCK_MEDIUM_AND_ABOVE,
    "only_high": safety_pb2.SafetySetting.BLOCK_ONLY_HIGH,
    "high": safety_pb2.SafetySetting.BLOCK_ONLY_HIGH,
    "none": safety_pb2.SafetySetting.BLOCK_NONE,
}


def _key(name: str, prefix: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return key.removeprefix(prefix)


def category(value: object, family: Family = "content") -> Category.ValueType:
    """A HarmCategory from its name, alias or number; ValueError names the accepted ones."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in Category.values():
            return Category.ValueType(value)
    elif isinstance(value, str):
        key = _key(value, "harm_category_")
        found = _FAMILY_ALIASES[family].get(key, _CATEGORY_ALIASES.get(key))
        if found is not None:
            return found
    names = ", ".join(Category.Name(c) for c in CATEGORIES[family])
    raise ValueError(f"unknown harm category {value!r}; this method rates {names}")


def threshold(value: object) -> Threshold.ValueType:
    """A HarmBlockThreshold from its name, alias or number; ValueError lists the accepted."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in Threshold.values():
            return Threshold.ValueType(value)
    elif isinstance(value, str):
        key = _key(value, "block_")
        found = _THRESHOLD_ALIASES.get(key)
        if found is not None:
            return found
        if key == "harm_block_threshold_unspecified":
            return safety_pb2.SafetySetting.HARM_BLOCK_THRESHOLD_UNSPECIFIED
    names = ", ".join(Threshold.keys()[1:])  # all but HARM_BLOCK_THRESHOLD_UNSPECIFIED
    raise ValueError(f"unknown block threshold {value!r}; use one of {names} (or low/medium/high)")


def _setting(item: object, family: Family) -> safety_pb2.SafetySetting:
    if isinstance(item, safety_pb2.SafetySetting):
        return item
    if isinstance(item, Mapping):
        unknown = set(item) - {"category", "threshold"}
        if unknown:
            raise ValueError(
                f"a safety setting has only 'category' and 'threshold', not {sorted(unknown)}"
            )
        return safety_pb2.SafetySetting(
            category=category(item.get("category"), family),
            threshold=threshold(item.get("threshold")),
        )
    raise TypeError(f"cannot use {type(item).__name__} as a safety setting")


def safety_settings(
    value: SafetyInput, family: Family = "content"
) -> list[safety_pb2.SafetySetting]:
    """SafetySetting protos from any accepted form (see the module docstring)."""
    if value is None:
        return []
    if isinstance(value, str | int):
        level = threshold(value)
        return [safety_pb2.SafetySetting(category=c, threshold=level) for c in CATEGORIES[family]]
    if isinstance(value, Mapping):
        if set(value) <= {"category", "threshold"} and "category" in value:
            return [_setting(value, family)]  # one setting written as a dict
        return [
            safety_pb2.SafetySetting(category=category(key, family), threshold=threshold(level))
            for key, level in value.items()
        ]
    return [_setting(item, family) for item in value]
