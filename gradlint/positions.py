"""Lines and columns exactly as Python's tokenizer counts them, and ast offsets as characters.

``str.splitlines`` also splits on form feeds, vertical tabs, ``\\x1c``-``\\x1e``, ``\\x85`` and
U+2028/2029, which Python's tokenizer treats as ordinary characters; line numbers from the ast
would then point at the wrong line. Everything in gradlint that maps a line number to text goes
through :func:`split_lines`.

The ast gives columns as UTF-8 byte offsets; ruff and editors report characters.
"""

from __future__ import annotations

import ast
import re

from gradlint.findings import Location

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str, *, keepends: bool = False) -> list[str]:
    """The lines of ``text``, split only on ``\\n``, ``\\r\\n`` and ``\\r`` (as the tokenizer)."""
    if not text:
        return []
    lines: list[str] = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[start : match.end() if keepends else match.start()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


class LineIndex:
    """Converts ast (line, byte offset) positions of one text into 1-based character columns."""

    __slots__ = ("_lines",)

    def __init__(self, text: str) -> None:
        self._lines = split_lines(text)

    def line(self, number: int) -> str:
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

    def column(self, line: int, byte_offset: int) -> int:
        """1-based character column of a 0-based UTF-8 byte offset on ``line``."""
        text = self.line(line)
        if text.isascii():
            return byte_offset + 1
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1

    def span(self, node: ast.AST) -> tuple[Location, Location]:
        """Start and end of an ast node in character columns."""
        line = getattr(node, "lineno", 1)
        start = Location(line, self.column(line, getattr(node, "col_offset", 0)))
        end_line = getattr(node, "end_lineno", None) or line
        end_offset = getattr(node, "end_col_offset", None)
        if end_offset is None:
            return start, start
        return start, Location(end_line, self.column(end_line, end_offset))
