"""Jupyter notebooks (``.ipynb``): the code cells are checked as one module, findings are
reported as ``cell N, line M``, and fixes are written back into the cells' sources with the
notebook's own JSON formatting.

Each code cell is preceded by a marker comment line in the module text, so a fixed text can be
split back into cells whatever lines the fixes added or removed. IPython magics (``%time``,
``!pip``, ``x?``) become a ``pass`` placeholder that is restored on write-back; a cell magic
(``%%bash``) makes its whole cell opaque (not checked, never rewritten). A cell's lines are
the tokenizer's (``positions.split_lines``): a form feed or U+2028 in a cell is not a line break.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from gradlint.findings import Edit, Finding, Location
from gradlint.positions import split_lines

SUFFIX = ".ipynb"
_MARKER = "# gradlint: cell {number}"
_MARKER_LINE = re.compile(r"^# gradlint: cell (\d+)$")
_PLACEHOLDER = "pass  # gradlint: magic {index}"
_PLACEHOLDER_LINE = re.compile(r"^(\s*)pass  # gradlint: magic (\d+)$")
_MAGIC = re.compile(r"^\s*(?:[%!]|\?\s*\w|\w[\w.]*\s*\?{1,2}\s*$)")


class NotebookError(Exception):
    """Not a notebook gradlint can read (bad JSON, no cells)."""


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


@dataclass(slots=True)
class Notebook:
    data: dict[str, Any]
    text: str  # the module text: every code cell, each after its marker line
    # module row -> (cell number, row within the cell); cell numbers count every cell, 1-based
    rows: dict[int, tuple[int, int]] = field(default_factory=dict)
    magics: list[str] = field(default_factory=list)


def _source_lines(cell: dict[str, Any]) -> list[str]:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return split_lines(text)


def load(raw: str) -> Notebook:
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise NotebookError(f"not a notebook: invalid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a notebook: no `cells` list")
    notebook = Notebook(data, "")
    out: list[str] = []
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        lines = _source_lines(cell)
        if lines and lines[0].lstrip().startswith("%%"):
            continue
        out.append(_MARKER.format(number=number))
        for row, line in enumerate(lines, start=1):
            if _MAGIC.match(line):
                indent = line[: len(line) - len(line.lstrip())]
                out.append(indent + _PLACEHOLDER.format(index=len(notebook.magics)))
                notebook.magics.append(line)
            else:
                out.append(line)
            notebook.rows[len(out)] = (number, row)
    notebook.text = "".join(line + "\n" for line in out)
    return notebook


def _place(notebook: Notebook, location: Location, *, end: bool = False) -> tuple[int | None, Location]:
    found = notebook.rows.get(location.row)
    if found is None:
        # A marker line (or past the end): the nearest cell row before it.
        earlier = [row for row in notebook.rows if row < location.row]
        if not earlier:
            return None, location
        found = notebook.rows[max(earlier)]
        return found[0], Location(found[1] + 1 if end else found[1], 1)
    return found[0], Location(found[1], location.column)


def map_finding(finding: Finding, notebook: Notebook) -> Finding:
    """The finding with its rows inside its cell, and the cell number set."""
    cell, start = _place(notebook, finding.location)
    end_cell, end = _place(notebook, finding.end_location, end=True)
    if end_cell != cell:
        end = Location(start.row, start.column + 1)
    noqa = None
    if finding.noqa_row is not None:
        noqa_cell, noqa_location = _place(notebook, Location(finding.noqa_row, 1))
        noqa = noqa_location.row if noqa_cell == cell else start.row
    fix = finding.fix
    if fix is not None and fix.edits:
        edits = []
        for edit in fix.edits:
            edit_cell, edit_start = _place(notebook, edit.location)
            _, edit_end = _place(notebook, edit.end_location, end=True)
            if edit_cell == cell:
                edits.append(Edit(edit.content, edit_start, edit_end))
        fix = replace(fix, edits=tuple(edits))
    return replace(finding, location=start, end_location=end, noqa_row=noqa, fix=fix, cell=cell)


def _indent_of(raw: str) -> int | str | None:
    """The indentation the notebook's JSON was written with (Jupyter: 1 space)."""
    lines = split_lines(raw)
    if len(lines) < 2:
        return None
    second = lines[1]
    stripped = second.lstrip(" \t")
    prefix = second[: len(second) - len(stripped)]
    if not prefix:
        return None
    return len(prefix) if set(prefix) == {" "} else prefix


def _dump(data: dict[str, Any], raw: str) -> str:
    text = json.dumps(data, indent=_indent_of(raw), ensure_ascii=False)
    return text + ("\n" if raw.endswith("\n") else "")


def write_back(notebook: Notebook, fixed: str, raw: str) -> str:
    """The notebook's JSON with each code cell's source replaced by its part of ``fixed``.

    Raises :class:`NotebookError` when the notebook's own formatting cannot be reproduced
    (then it is not rewritten at all) or the cells cannot be told apart any more.
    """
    if _dump(json.loads(raw), raw) != raw:
        raise NotebookError("its JSON formatting cannot be reproduced; fix not written")
    parts: dict[int, list[str]] = {}
    current: int | None = None
    preamble: list[str] = []
    for line in split_lines(fixed):
        marker = _MARKER_LINE.match(line)
        if marker:
            current = int(marker.group(1))
            parts[current] = []
            continue
        placeholder = _PLACEHOLDER_LINE.match(line)
        if placeholder:
            line = notebook.magics[int(placeholder.group(2))]
        if current is None:
            preamble.append(line)
        else:
            parts[current].append(line)
    expected = sorted({cell for cell, _ in notebook.rows.values()} | {
        int(m.group(1)) for m in map(_MARKER_LINE.match, split_lines(notebook.text)) if m
    })
    if sorted(parts) != expected:
        raise NotebookError("a fix moved code across cells; fix not written")
    if preamble and expected:
        # Lines a fix put above the first cell (an import) belong to the first cell.
        parts[expected[0]] = [*preamble, *parts[expected[0]]]
    data = json.loads(raw)
    for number, lines in parts.items():
        cell = data["cells"][number - 1]
        old_lines = _source_lines(cell)
        if lines == old_lines:
            continue
        while lines and not lines[-1].strip() and not (old_lines and not old_lines[-1].strip()):
            lines.pop()
        source = cell.get("source")
        old_text = "".join(source) if isinstance(source, list) else str(source or "")
        # Keep whether the cell's source ended with a newline (Jupyter writes none).
        text = "\n".join(lines) + ("\n" if old_text.endswith("\n") and lines else "")
        if isinstance(source, list):
            cell["source"] = split_lines(text, keepends=True)
        else:
            cell["source"] = text
    return _dump(data, raw)
