"""Fast text triggers: the cheap test that lets a rule skip a file that cannot match.

Python's ``re`` finds a literal prefix at memory speed, but a pattern that starts with ``\\b``
or a character class is tried at every position of the file (ten times slower). The triggers
here therefore start with a literal and check the word boundary behind it with a lookbehind,
or find a literal with ``str`` methods and look around it. A trigger may pass a file that
then has no finding; it must never skip one that has.
"""

from __future__ import annotations

import re


def literal_first(word: str, rest: str) -> re.Pattern[str]:
    """``\\b<word><rest>`` with the literal first, so the scan stays fast."""
    return re.compile(f"{re.escape(word)}(?<!\\w{re.escape(word)}){rest}")


def _continues_identifier(character: str) -> bool:
    return ("a" + character).isidentifier()


def dotted_chain_before(text: str, index: int, limit: int = 256) -> str:
    """The ``a.b.c`` that ends at ``index`` (names and dots, read backwards)."""
    start = index
    floor = max(0, index - limit)
    while start > floor:
        character = text[start - 1]
        if character != "." and not _continues_identifier(character):
            break
        start -= 1
    return text[start:index]


_NAME_START = re.compile(r"[A-Za-z_]")
_OPERAND_GOES_ON = re.compile(r"[\w.(]")


def has_self_product(text: str) -> bool:
    """Whether ``text`` multiplies something by itself: the same name, dotted name or call
    without arguments on both sides of one ``*`` (``g * g``, ``p.grad * p.grad``, ``f() * f()``),
    where the left operand may be the tail of a longer chain (``a.g * g``).

    Looked up around each ``*`` (one ``str.find`` scan), never by a pattern tried at every
    position of the file.
    """
    find = text.find
    size = len(text)
    index = find("*")
    while index >= 0:
        end = index
        while end > 0 and text[end - 1].isspace():
            end -= 1
        core = end - 2 if text.startswith("()", end - 2) else end
        chain = dotted_chain_before(text, core)
        left = text[core - len(chain) : end]
        right = index + 1
        while right < size and text[right].isspace():
            right += 1
        for start in range(len(chain)):
            if start and chain[start - 1] != ".":
                continue  # not at a word boundary
            operand = left[start:]
            if not _NAME_START.match(operand):
                continue
            after = right + len(operand)
            if text.startswith(operand, right) and (after >= size or not _OPERAND_GOES_ON.match(text, after)):
                return True
        index = find("*", index + 1)
    return False
