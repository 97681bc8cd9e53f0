"""Path templates of `google.api.http` rules, compiled to regular expressions.

A template is the path part of an HttpRule, such as `/v1/{model=models/*}:generateContent` or
`/v1/{name=operations/**}`. Its grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

`*` matches one path segment, `**` any number of them (at the end of a template), and a
variable without a pattern matches one segment. A variable binds the text it matched to a
field of the request, named by a dotted field path (`tuned_model.name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote


class TemplateError(ValueError):
    """A rule's path template that this parser does not understand."""


@dataclass(frozen=True)
class Template:
    """A compiled path template: its text, the field paths it binds, and its expression."""

    text: str
    fields: tuple[str, ...]
    pattern: re.Pattern[str]

    def match(self, path: str) -> dict[str, str] | None:
        """The bound field paths and their (percent-decoded) values, or None."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {field: unquote(found.group(f"v{index}")) for index, field in enumerate(self.fields)}


_LITERAL = re.compile(r"[^/{}*:=]+")


def compile_template(text: str) -> Template:
    """The compiled form of `text`; TemplateError for text outside the grammar."""
    if not text.startswith("/"):
        raise TemplateError(f"{text!r}: a template starts with '/'")
    body, verb = _split_verb(text[1:])
    fields: list[str] = []
    parts: list[str] = []
    position = 0
    while position <= len(body):
        if body.startswith("{", position):
            end = body.find("}", position)
            if end < 0:
                raise TemplateError(f"{text!r}: unclosed variable")
            field, _, inner = body[position + 1 : end].partition("=")
            if not field:
                raise TemplateError(f"{text!r}: a variable without a field")
            group = f"v{len(fields)}"
            fields.append(field)
            parts.append(f"(?P<{group}>{_segments(inner or '*', text)})")
            position = end + 1
        else:
            end = body.find("/", position)
            end = len(body) if end < 0 else end
            parts.append(_segments(body[position:end], text))
            position = end
        if position < len(body) and body[position] != "/":
            raise TemplateError(f"{text!r}: a variable must fill whole segments")
        position += 1
    suffix = "" if verb is None else ":" + re.escape(verb)
    return Template(text, tuple(fields), re.compile("/" + "/".join(parts) + suffix))


def _split_verb(body: str) -> tuple[str, str | None]:
    # The verb follows the last ':' outside a variable.
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        char = body[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == ":" and depth == 0:
            return body[:index], body[index + 1 :]
        elif char == "/" and depth == 0:
            break
    return body, None


def _segments(text: str, template: str) -> str:
    pieces = []
    for segment in text.split("/"):
        if segment == "*":
            pieces.append("[^/:]+")
        elif segment == "**":
            pieces.append("[^:]+")
        elif _LITERAL.fullmatch(segment):
            pieces.append(re.escape(segment))
        else:
            raise TemplateError(f"{template!r}: segment {segment!r} is not understood")
    return "/".join(pieces)
