"""``# noqa`` comments: per line, and file-wide ``# gradlint: noqa``."""

from __future__ import annotations

import io
import re
import tokenize

_NOQA = re.compile(
    r"#\s*noqa(?::[\s]*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_FILE_NOQA = re.compile(
    r"^[ \t]*#[ \t]*gradlint:[ \t]*noqa(?::[ \t]*(?P<codes>[A-Z]+[0-9]+(?:[ \t,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE | re.MULTILINE,
)
_CODE_SPLIT = re.compile(r"[\s,]+")

ALL = frozenset({"*"})


def _codes(text: str | None) -> frozenset[str]:
    if not text:
        return ALL
    return frozenset(code.upper() for code in _CODE_SPLIT.split(text.strip()) if code)


def file_suppressions(text: str) -> frozenset[str]:
    """Codes suppressed for the whole file (``ALL`` for a bare ``# gradlint: noqa``)."""
    if "gradlint" not in text:
        return frozenset()
    codes: set[str] = set()
    for match in _FILE_NOQA.finditer(text):
        found = _codes(match.group("codes"))
        if found is ALL:
            return ALL
        codes |= found
    return frozenset(codes)


def line_suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line number -> codes suppressed by a ``# noqa`` comment on that line."""
    result: dict[int, frozenset[str]] = {}
    if "noqa" not in text.lower():
        return result
    try:
        comments = [
            (token.start[0], token.string)
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):
        comments = [
            (number, line[line.index("#"):])
            for number, line in enumerate(text.splitlines(), start=1)
            if "#" in line
        ]
    for line, comment in comments:
        for match in _NOQA.finditer(comment):
            codes = _codes(match.group("codes"))
            previous = result.get(line, frozenset())
            result[line] = ALL if codes is ALL or previous is ALL else previous | codes
    return result


def is_suppressed(code: str, rows: tuple[int, ...], lines: dict[int, frozenset[str]]) -> bool:
    for row in rows:
        codes = lines.get(row)
        if codes is not None and (codes is ALL or code in codes):
            return True
    return False
