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


# What Python allows between the tokens of a dotted name: whitespace (a form feed included),
# backslash continuations and, inside brackets, newlines and comments. Possessive: a gap is
# never given back (no token starts with what it holds), so a line of ``#`` cannot make the
# pattern backtrack exponentially.
GAP = r"(?:\s|\\|#[^\r\n]*+)*+"
# A private name: ``_`` followed by anything but the rest of a dunder (``_x``, ``__x``, ``_``).
PRIVATE = r"_(?!_\w*__(?!\w))"
_PRIVATE_WORD = re.compile(r"(?<!\w)" + PRIVATE)
_LINE_BREAK = re.compile(r"\r\n?|\n")


def import_clause(text: str, start: int, limit: int = 4096) -> str:
    """The code of the import list that begins at ``start`` (just after ``import``), without
    comments: up to the closing bracket, or to the end of the logical line.

    An import list holds no strings, so every ``#`` in it starts a comment. Text after a ``;``
    comes along; that can only make a trigger pass more files.
    """
    pieces = []
    position = start
    end = min(len(text), start + limit)
    bracketed = False
    while position < end:
        line_break = _LINE_BREAK.search(text, position, end)
        line_end = line_break.start() if line_break else end
        code = text[position:line_end].split("#", 1)[0]
        pieces.append(code)
        bracketed = bracketed or "(" in code
        if (")" in code) if bracketed else not code.rstrip().endswith("\\"):
            break
        position = line_break.end() if line_break else end
    return "\n".join(pieces)


def has_private_word(text: str) -> bool:
    """Whether ``text`` holds a word that is a private name (``_x``, ``__x``, ``_``)."""
    return _PRIVATE_WORD.search(text) is not None


def chain_words_before(text: str, index: int, limit: int = 256) -> list[str]:
    """The names of the dotted chain that ends at ``index``, read backwards, where the parts may
    be apart by whitespace, backslash continuations and newlines (``nn\\\n.functional``).

    A line the chain crosses that holds a ``#`` gives all of its words: which part of it is a
    comment is not known without tokenizing, and more words can only make a trigger pass more.
    """
    start = index
    floor = max(0, index - limit)
    words: list[str] = []
    while start > floor:
        character = text[start - 1]
        if character in "\n\r":
            line_start = max(text.rfind("\n", floor, start - 1), text.rfind("\r", floor, start - 1)) + 1
            if "#" in text[line_start : start - 1]:
                words.extend(_WORD.findall(text, line_start, start - 1))
                break
        elif not (character == "." or character == "\\" or character.isspace() or _continues_identifier(character)):
            break
        start -= 1
    words.extend(_WORD.findall(text, start, index))
    return words


_WORD = re.compile(r"\w+")
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
