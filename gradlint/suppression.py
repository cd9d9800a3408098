"""``# noqa`` comments: per line, and file-wide ``# gradlint: noqa``."""

from __future__ import annotations

import io
import re
import tokenize

from gradlint.positions import split_lines

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
            for number, line in enumerate(split_lines(text), start=1)
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


# -- adoption: --add-noqa and GL100 ---------------------------------------------------------

UNUSED_NOQA_CODE = "GL100"


def _unsafe_line_ends(text: str) -> set[int]:
    """Rows whose end is inside a multi-line string or continues with a backslash: a comment
    appended there would change the code."""
    rows: set[int] = set()
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    opened: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.start[0] != token.end[0]:
                rows.update(range(token.start[0], token.end[0]))
            elif fstring_start is not None and token.type == fstring_start:
                opened.append(token.start[0])
            elif fstring_end is not None and token.type == fstring_end and opened:
                rows.update(range(opened.pop(), token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        return set(range(1, len(split_lines(text)) + 2))
    for number, line in enumerate(split_lines(text), start=1):
        if line.rstrip().endswith("\\"):
            rows.add(number)
    return rows


def add_noqa_to_text(text: str, codes_by_row: dict[int, set[str]]) -> tuple[str, int]:
    """``text`` with ``# noqa: CODES`` on each row (merged into an existing ``# noqa:``)."""
    lines = split_lines(text, keepends=True)
    unsafe = _unsafe_line_ends(text)
    added = 0
    for row, codes in sorted(codes_by_row.items()):
        if not 1 <= row <= len(lines) or row in unsafe:
            continue
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        stripped = body.rstrip()
        match = None
        for candidate in _NOQA.finditer(stripped):
            match = candidate
        if match is not None and match.group("codes") is None:
            continue  # a bare ``# noqa`` already suppresses everything
        if match is not None and match.end() == len(stripped):
            present = [c for c in _CODE_SPLIT.split(match.group("codes").strip()) if c]
            missing = sorted(codes - {c.upper() for c in present})
            if not missing:
                continue
            new = f"{stripped[:match.start()]}# noqa: {', '.join([*present, *missing])}"
        else:
            new = f"{stripped}  # noqa: {', '.join(sorted(codes))}"
        lines[row - 1] = new + ending
        added += 1
    return "".join(lines), added


def add_noqa(findings: list) -> int:  # type: ignore[type-arg]
    """Add ``# noqa`` comments for ``findings`` to their files; the number of lines changed."""
    from gradlint.source import UndecodableSource, decode, write_atomically

    by_file: dict[str, dict[int, set[str]]] = {}
    for finding in findings:
        if finding.code in ("GL000", UNUSED_NOQA_CODE) or finding.path == "-" or getattr(finding, "cell", None) is not None:
            continue
        row = finding.noqa_row or finding.location.row
        by_file.setdefault(finding.path, {}).setdefault(row, set()).add(finding.code)
    total = 0
    for path, rows in sorted(by_file.items()):
        try:
            with open(path, "rb") as stream:
                source = decode(stream.read())
        except (OSError, UndecodableSource):
            continue
        new, added = add_noqa_to_text(source.text, rows)
        if added:
            write_atomically(path, source.encode(new))
            total += added
    return total


_NEUTRAL = re.compile(r"(#\s*)(noqa)", re.IGNORECASE)


def unused_noqa_findings(text: str, path: str, actual: list, recheck, judged: frozenset[str]) -> list:  # type: ignore[no-untyped-def, type-arg]
    """GL100 findings: codes in ``# noqa: ...`` comments that suppress nothing.

    ``recheck(text)`` returns the findings of a text; it is called once, on the text with every
    ``# noqa`` neutralised (same length, so positions hold), to learn what each comment
    suppresses. Only codes in ``judged`` (the enabled per-file rules) are reported; other
    tools' codes and bare ``# noqa`` are left alone.
    """
    from gradlint.findings import Edit, Finding, FixInfo, Location

    # Tokenizing the file and checking it again cost as much as its check: done only where a
    # comment names a code that is judged here (most ``# noqa`` comments are other tools').
    lowered = text.lower()
    if "noqa" not in lowered or not any(code.lower() in lowered for code in judged):
        return []
    comments = {
        row: comment for row, comment in _noqa_comments(text).items()
        if any(code.upper() in judged for code in comment[2])
    }
    if not comments:
        return []
    raw = recheck(_NEUTRAL.sub(lambda m: m.group(1) + "n0qa", text))
    kept = {(f.code, f.location.row, f.location.column) for f in actual}
    used: dict[int, set[str]] = {}
    for finding in raw:
        if (finding.code, finding.location.row, finding.location.column) in kept:
            continue
        for row in {finding.location.row, finding.noqa_row or finding.location.row}:
            used.setdefault(row, set()).add(finding.code)
    findings = []
    for row, (start, end, codes) in sorted(comments.items()):
        unused = [c for c in codes if c.upper() in judged and c.upper() not in used.get(row, set())]
        if not unused:
            continue
        remaining = [c for c in codes if c not in unused]
        replacement = f"# noqa: {', '.join(remaining)}" if remaining else ""
        names = ", ".join(f"`{c.upper()}`" for c in unused)
        edit_start, edit_end = start, end
        if not remaining:
            line = split_lines(text)[row - 1]
            # Remove the whitespace before the comment too.
            edit_start = len(line[:start].rstrip())
        fix = FixInfo(
            "safe",
            "Remove unused `noqa` directive" if not remaining else f"Remove unused code{'s' * (len(unused) > 1)} {names}",
            (Edit(replacement, Location(row, edit_start + 1), Location(row, edit_end + 1)),),
        )
        findings.append(Finding(
            path, UNUSED_NOQA_CODE, f"Unused `noqa` directive (unused: {names})",
            Location(row, start + 1), Location(row, end + 1), fix, row,
        ))
    return findings


def _noqa_comments(text: str) -> dict[int, tuple[int, int, list[str]]]:
    """Row -> (start column, end column, codes) of each ``# noqa: CODES`` comment (0-based)."""
    if "noqa" not in text.lower():
        return {}
    result: dict[int, tuple[int, int, list[str]]] = {}
    try:
        tokens = [
            token for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):
        return {}
    for token in tokens:
        for match in _NOQA.finditer(token.string):
            if match.group("codes") is None:
                continue
            codes = [c for c in _CODE_SPLIT.split(match.group("codes").strip()) if c]
            column = token.start[1]
            result[token.start[0]] = (column + match.start(), column + match.end(), codes)
    return result


def apply_line_edits(text: str, findings: list) -> str:  # type: ignore[type-arg]
    """Apply single-line edits (GL100's), right to left so columns stay valid."""
    lines = split_lines(text, keepends=True)
    edits = sorted(
        (edit for f in findings if f.fix is not None for edit in f.fix.edits),
        key=lambda e: (e.location.row, e.location.column),
        reverse=True,
    )
    for edit in edits:
        row = edit.location.row - 1
        line = lines[row]
        lines[row] = line[: edit.location.column - 1] + edit.content + line[edit.end_location.column - 1 :]
    return "".join(lines)
