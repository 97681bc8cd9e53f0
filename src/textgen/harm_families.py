"""The harm categories each family of methods rates, defined once for the client and the
server: text and message methods rate the text family, content methods the content family
(in this order, which is also the order of their enum values)."""

from __future__ import annotations

from typing import TypeAlias

from textgen.v1 import safety_pb2

HarmCategory: TypeAlias = safety_pb2.HarmCategory.ValueType

TEXT_CATEGORIES: tuple[HarmCategory, ...] = (
    safety_pb2.HARM_CATEGORY_DEROGATORY,
    safety_pb2.HARM_CATEGORY_TOXICITY,
    safety_pb2.HARM_CATEGORY_VIOLENCE,
    safety_pb2.HARM_CATEGORY_SEXUAL,
    safety_pb2.HARM_CATEGORY_MEDICAL,
    safety_pb2.HARM_CATEGORY_DANGEROUS,
)
CONTENT_CATEGORIES: tuple[HarmCategory, ...] = (
    safety_pb2.HARM_CATEGORY_HARASSMENT,
    safety_pb2.HARM_CATEGORY_HATE_SPEECH,
    safety_pb2.HARM_CATEGORY_SEXUALLY_EXPLICIT,
    safety_pb2.HARM_CATEGORY_DANGEROUS_CONTENT,
)
