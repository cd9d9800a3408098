"""Fuzz the whole per-file pipeline (issue 14): generated programs with the rules' patterns
spliced in, and mutations of the fixtures (every line-break character Python's tokenizer and
``str.splitlines`` disagree on, BOM, CRLF, tabs, deep nesting, invalid bytes).

Properties: no internal error; GL000 exactly when ``compile()`` rejects the bytes; findings
identical with and without the rules' text triggers; a line-break character in a comment changes no
finding; ``--fix`` output compiles, keeps encoding, BOM and line endings, and is idempotent;
``-j1`` and ``-j2`` agree.

Seeded and bounded for CI (``derandomize``: the same examples every run, about a minute in
all). ``GRADLINT_FUZZ_PROFILE=long`` runs fresh random examples, ``GRADLINT_FUZZ_SCALE`` times
as many (default 100): ``GRADLINT_FUZZ_PROFILE=long python -m pytest tests/test_fuzz.py
--hypothesis-show-statistics``. With ``GRADLINT_FUZZ_MINUTES=30`` as well, the long profile runs
for that long instead, the time shared equally between the properties: each one runs rounds of
fresh random examples (its CI count each) until its share is used, keeps going after a failure,
and fails at the end with every failure it found. Each property prints a ``fuzz:`` line with
its rounds, passing and failing examples and seconds (``pytest -s`` shows them).
"""

from __future__ import annotations

import codecs
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from gradlint.config import Settings
from gradlint.findings import PARSE_ERROR_CODE, FileResult
from gradlint.runner import RunOptions, _Worker, run_paths

ROOT = Path(__file__).resolve().parents[1]
LONG = os.environ.get("GRADLINT_FUZZ_PROFILE", "ci") == "long"
MINUTES = float(os.environ.get("GRADLINT_FUZZ_MINUTES", "0") or 0) if LONG else 0.0
SCALE = int(os.environ.get("GRADLINT_FUZZ_SCALE", "100")) if LONG and not MINUTES else 1
_PROPERTIES: list[str] = []  # the @fuzz tests: each gets an equal share of MINUTES


def fuzz(examples: int) -> Callable:  # type: ignore[type-arg]
    """Hypothesis settings for one property: ``examples`` in CI, SCALE times that when long;
    with MINUTES, rounds of ``examples`` until the property's share of the time is used."""
    configure = settings(
        max_examples=examples * SCALE,
        derandomize=not LONG,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )

    def decorate(test: Callable) -> Callable:  # type: ignore[type-arg]
        test = configure(test)
        _PROPERTIES.append(test.__name__)
        counts = {"passing": 0, "failing": 0}
        inner = test.hypothesis.inner_test  # type: ignore[attr-defined]

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                inner(*args, **kwargs)
            except BaseException as error:
                # Hypothesis's own control flow (an assume(), a draw past the data's end) is
                # no failure.
                if not type(error).__module__.startswith("hypothesis"):
                    counts["failing"] += 1
                raise
            counts["passing"] += 1

        test.hypothesis.inner_test = counted  # type: ignore[attr-defined]
        if not MINUTES:
            return test

        def timed() -> None:
            start = time.monotonic()
            budget = MINUTES * 60 / len(_PROPERTIES)
            rounds, failures = 0, []
            while time.monotonic() - start < budget:
                rounds += 1
                try:
                    test()
                except Exception as error:  # noqa: BLE001 - keep fuzzing; all are reported below
                    notes = "\n".join(getattr(error, "__notes__", []))
                    failures.append(f"{type(error).__name__}: {error}\n{notes}")
            print(
                f"\nfuzz: {test.__name__}: {rounds} rounds, {counts['passing']} passing and "
                f"{counts['failing']} failing examples, {len(failures)} failed rounds, "
                f"{time.monotonic() - start:.0f} s"
            )
            assert not failures, "\n\n".join(failures)

        timed.__name__ = test.__name__
        timed.__doc__ = test.__doc__
        return timed

    return decorate


# -- the material --------------------------------------------------------------------------

# Characters that str.splitlines() treats as line breaks and Python's tokenizer does not
# (plus the form feed, which the tokenizer treats as whitespace), and the real ones.
SPLITLINES_ONLY = ("\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
NEWLINES = ("\n", "\r\n", "\r")
BOM = codecs.BOM_UTF8
INVALID_BYTES = (b"\xff", b"\xc3(", b"\x80", b"\xed\xa0\x80", b"\x00", b"\xfe\xff")


def _strip_file_noqa(text: str) -> str:
    # A file-level `# gradlint: noqa` hides GL000 too; the properties are about the rest.
    return re.sub(r"gradlint\s*:\s*noqa", "gradlint-noqa-off", text)


@lru_cache(maxsize=1)
def fixture_texts() -> tuple[str, ...]:
    return tuple(
        _strip_file_noqa(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "fixtures").rglob("*.py"))
    )


@lru_cache(maxsize=1)
def rule_snippets() -> tuple[str, ...]:
    from gradlint.rules import all_rules

    snippets = [example.code for rule in all_rules() for example in (*rule.INVALID, *rule.VALID)]
    return tuple(_strip_file_noqa(code) for code in snippets)


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


_BLOCKS = (
    "def step(model, grads, device='cpu'):\n",
    "class Monitor:\n",
    "if torch.cuda.is_available():\n",
    "for p in model.parameters():\n",
    "with torch.no_grad():\n",
    "async def collect(params):\n",
)


@st.composite
def wrapped(draw: st.DrawFn, part: str) -> str:
    """``part`` inside zero or more blocks (a function, a class, a loop, try/except...)."""
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(("block", "try")))
        if kind == "try":
            handler = draw(st.sampled_from(("AttributeError", "Exception", "ImportError", "ValueError")))
            part = f"try:\n{_indent(part)}except {handler}:\n    pass\n"
        else:
            part = draw(st.sampled_from(_BLOCKS)) + _indent(part or "pass\n")
    return part


# Built once: each from_grammar() call compiles the Python grammar again (seconds).
_GRAMMAR = hypothesmith.from_grammar(auto_target=False)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """A module of rule patterns, fixture chunks and hypothesmith programs, nested at random."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        source = draw(st.sampled_from(("snippet", "snippet", "fixture", "hypothesmith")))
        if source == "snippet":
            part = draw(st.sampled_from(rule_snippets()))
        elif source == "fixture":
            part = draw(st.sampled_from(fixture_texts()))
        else:
            part = draw(_GRAMMAR)
        part = draw(wrapped(part))
        parts.append(part if part.endswith("\n") else part + "\n")
    return "import torch\n" * draw(st.booleans()) + "\n".join(parts)


@st.composite
def insert_at(draw: st.DrawFn, text: str, what: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + what + text[at:]


@st.composite
def at_line_start(draw: st.DrawFn, text: str, what: str) -> str:
    lines = text.splitlines(keepends=True) or [""]
    index = draw(st.integers(0, len(lines) - 1))
    lines[index] = what + lines[index]
    return "".join(lines)


@st.composite
def deep_nesting(draw: st.DrawFn, text: str) -> str:
    depth = draw(st.integers(1, 120))
    kind = draw(st.sampled_from(("if", "brackets", "calls", "lambda", "not", "elif", "sum", "attr")))
    if kind == "if":
        body = "".join("    " * i + "if x:\n" for i in range(depth)) + "    " * depth + "y = torch._foreach_norm(g)\n"
    elif kind == "elif":
        body = "if x:\n    pass\n" + "elif x:\n    pass\n" * depth * 3
    elif kind == "brackets":
        body = "y = " + "[" * depth + "torch._foreach_norm(g)" + "]" * depth + "\n"
    elif kind == "calls":
        body = "y = " + "f(" * depth + "torch._foreach_norm(g)" + ")" * depth + "\n"
    elif kind == "lambda":
        body = "y = " + "lambda: " * depth * 3 + "torch._foreach_norm(g)\n"
    elif kind == "not":
        body = "y = " + "not " * depth * 10 + "torch._foreach_norm(g)\n"
    elif kind == "sum":
        body = "total = " + " + ".join(f"g{i}.pow(2).sum()" for i in range(depth * 10)) + "\ntotal.sqrt()\n"
    else:
        body = "y = torch" + "._c" * depth * 10 + "\n"
    return text + ("\n" if text and not text.endswith("\n") else "") + body


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A fixture or snippet with text-level mutations (before any encoding)."""
    text = draw(st.one_of(st.sampled_from(fixture_texts()), st.sampled_from(rule_snippets())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("break", "break-line-start", "break-comment", "tabs", "nesting",
                                   "truncate", "delete", "duplicate-line", "noise")))
        if op == "break":
            text = draw(insert_at(text, draw(st.sampled_from(SPLITLINES_ONLY))))
        elif op == "break-line-start":
            text = draw(at_line_start(text, draw(st.sampled_from(SPLITLINES_ONLY))))
        elif op == "break-comment":
            text = draw(at_line_start(text, f"# note{draw(st.sampled_from(SPLITLINES_ONLY))}more\n"))
        elif op == "tabs":
            text = re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)
        elif op == "nesting":
            text = draw(deep_nesting(text))
        elif op == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif op == "delete":
            start = draw(st.integers(0, len(text)))
            text = text[:start] + text[start + draw(st.integers(0, 20)):]
        elif op == "duplicate-line":
            lines = text.splitlines(keepends=True) or [""]
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            text = "".join(lines)
        else:
            text = draw(insert_at(text, draw(st.text(max_size=5))))
    return text


@st.composite
def encoded(draw: st.DrawFn, text: str) -> bytes:
    """``text`` as a file: newline style, BOM or coding cookie, and perhaps invalid bytes."""
    newline = draw(st.sampled_from(NEWLINES))
    if newline != "\n":
        text = text.replace("\r\n", "\n").replace("\n", newline)
    encoding = draw(st.sampled_from(("utf-8", "utf-8-sig", "latin-1", "cp1252")))
    if encoding in ("latin-1", "cp1252"):
        text = f"# -*- coding: {encoding} -*-{newline}# Hélène{newline}" + text
    data = text.encode(encoding, errors="replace")
    for _ in range(draw(st.integers(0, 1)) if draw(st.integers(0, 3)) == 0 else 0):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INVALID_BYTES)) + data[at:]
    return data


sources = st.one_of(programs(), mutated_text()).flatmap(encoded)


# -- running the pipeline --------------------------------------------------------------------

PATH = "fuzz_sample.py"


@lru_cache(maxsize=4)
def worker(fixing: bool) -> _Worker:
    options = RunOptions(fix=fixing, unsafe_fixes=fixing, use_cache=False)
    return _Worker(Settings(), options)


def check(data: bytes, *, triggers: bool = True) -> FileResult:
    """The worker's result for ``data``; ``triggers=False`` runs every rule on every file."""
    w = worker(False)
    if triggers:
        return w.process_bytes(PATH, data)
    saved = [(rule, rule.may_match) for rule in w.engine.ast_rules + w.engine.source_rules]
    for rule, _ in saved:
        rule.may_match = lambda text: True  # type: ignore[method-assign]
    try:
        return w.process_bytes(PATH, data)
    finally:
        for rule, _ in saved:
            del rule.may_match


def compiles(data: bytes) -> bool:
    try:
        compile(data, PATH, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def summary(result: FileResult) -> list[tuple[str, int, int, int, int, str]]:
    return [
        (f.code, f.location.row, f.location.column, f.end_location.row, f.end_location.column, f.message)
        for f in result.findings
    ]


# -- properties --------------------------------------------------------------------------------


@fuzz(150)
@given(sources)
def test_no_internal_error_and_gl000_exactly_when_compile_rejects(data: bytes) -> None:
    result = check(data)
    assert result.internal_error is None, result.internal_error
    gl000 = [f for f in result.findings if f.code == PARSE_ERROR_CODE]
    newer = result.skipped is not None and "newer than Python" in result.skipped
    # A file that only a newer Python accepts is skipped with a warning instead (libcst knows
    # newer grammar than the running ast).
    assert (bool(gl000) or newer) == (not compiles(data)), (gl000, result.skipped, data[:400])
    assert len(gl000) <= 1
    if gl000:
        assert gl000[0].message and len(result.findings) == 1


@fuzz(80)
@given(sources)
# Found by the long profile: GL001 reports a root of per-tensor squared sums of any tensors,
# and its trigger wanted `grad` or `norm` in the file.
@example(b"import torch\ntotal = a0.pow(2).sum() + a1.pow(2).sum()\ntotal.sqrt()\n")
@example(b"import torch\ntotal = (a * a).sum() + (b * b).sum()\nr = total ** 0.5\n")
# And GL002's wanted no whitespace inside a dotted name and a letter after its ``_``.
@example(b"import torch\nfrom torch\x0c.optim.lr_scheduler import _LRScheduler\n")
@example(b"import torch\nfrom torch.optim\x0c.lr_scheduler import _LRScheduler\n")
@example(b"import torch\nv = torch._\n")
def test_findings_are_the_same_without_the_text_triggers(data: bytes) -> None:
    assert summary(check(data)) == summary(check(data, triggers=False))


@fuzz(120)
@given(
    base=st.one_of(st.sampled_from(fixture_texts()), programs()),
    character=st.sampled_from(SPLITLINES_ONLY),
    data=st.data(),
)
def test_a_line_break_character_in_a_comment_changes_no_finding(base: str, character: str, data: st.DataObject) -> None:
    lines = base.splitlines(keepends=True) or [""]
    # Split on real newlines only, so that the comment goes where the tokenizer sees a line.
    lines = re.split(r"(?<=\n)", base) if base else [""]
    index = data.draw(st.integers(0, len(lines)))
    plain = "".join(lines[:index]) + "# a note\n" + "".join(lines[index:])
    special = "".join(lines[:index]) + f"# a{character}note\n" + "".join(lines[index:])
    assert summary(check(special.encode())) == summary(check(plain.encode()))


@fuzz(60)
@given(
    base=st.sampled_from(fixture_texts()),
    character=st.sampled_from(SPLITLINES_ONLY),
    data=st.data(),
)
def test_a_line_break_character_inside_a_line_keeps_the_rows(base: str, character: str, data: st.DataObject) -> None:
    """In a comment at a line's end: the same findings; the tokenizer sees the same lines."""
    lines = re.split(r"(?<=\n)", base)
    index = data.draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    if not line.endswith("\n") or "#" in line or '"' in line or "'" in line or "\\" in line:
        assume(False)
    plain = "".join(lines[:index]) + line[:-1] + "  # x y\n" + "".join(lines[index + 1:])
    special = "".join(lines[:index]) + line[:-1] + f"  # x{character}y\n" + "".join(lines[index + 1:])
    assert summary(check(special.encode())) == summary(check(plain.encode()))


def _newline_kinds(data: bytes) -> set[bytes]:
    kinds = set()
    if b"\r\n" in data:
        kinds.add(b"\r\n")
    if re.search(rb"\r(?!\n)", data):
        kinds.add(b"\r")
    if re.search(rb"(?<!\r)\n", data):
        kinds.add(b"\n")
    return kinds


def fix(data: bytes) -> bytes | None:
    result = worker(True).process_bytes(PATH, data)
    assert result.internal_error is None, result.internal_error
    if result.fixed is None:
        return None
    return result.fixed.encode(result.encoding)


@fuzz(60)
@given(st.one_of(programs(), mutated_text()).flatmap(encoded))
def test_fix_output_compiles_keeps_the_encoding_and_is_idempotent(data: bytes) -> None:
    fixed = fix(data)
    if fixed is None:
        return
    assert compiles(data), "a file Python rejects was changed"
    assert compiles(fixed), fixed.decode("utf-8", "replace")
    assert fixed.startswith(BOM) == data.startswith(BOM)
    head, fixed_head = data.splitlines()[:2], fixed.splitlines()[:2]
    if any(b"coding" in line for line in head):
        assert fixed_head == head  # the coding cookie stays where it is
    assert _newline_kinds(fixed) <= (_newline_kinds(data) or {b"\n"})
    assert fixed.endswith((b"\r", b"\n")) == data.endswith((b"\r", b"\n"))  # the last line break too
    assert fix(fixed) is None, "a second --fix changed the file again"


@fuzz(4)
@given(st.lists(sources, min_size=18, max_size=24))
def test_one_and_two_jobs_agree(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for index, data in enumerate(files):
            path = os.path.join(directory, f"m{index:02d}.py")
            with open(path, "wb") as stream:
                stream.write(data)
            paths.append(path)
        runs = {}
        for jobs in (1, 2):
            options = RunOptions(jobs=jobs, use_cache=False)
            run = run_paths(paths, replace(Settings(), root=directory), options)
            runs[jobs] = (
                [(f.path, f.code, f.location, f.end_location, f.message) for f in run.findings],
                run.internal_errors,
            )
        assert runs[1] == runs[2]
        assert runs[1][1] == []


def _tree(directory: str) -> dict[str, bytes]:
    tree = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as stream:
                tree[os.path.relpath(path, directory)] = stream.read()
    return tree


@fuzz(3)
@given(st.lists(sources, min_size=18, max_size=24))
def test_one_and_two_jobs_fix_the_same_files_the_same_way(files: list[bytes]) -> None:
    """``--fix --unsafe-fixes`` (the GL004 project fix too) with -j1 and -j2 on two copies."""
    from click.testing import CliRunner

    from gradlint.cli import main

    outcomes = {}
    with tempfile.TemporaryDirectory() as directory:
        before = os.getcwd()
        for jobs in (1, 2):
            copy = os.path.join(directory, f"j{jobs}")
            os.mkdir(copy)
            for index, data in enumerate(files):
                with open(os.path.join(copy, f"m{index:02d}.py"), "wb") as stream:
                    stream.write(data)
            os.chdir(copy)
            try:
                args = ["check", "--fix", "--unsafe-fixes", "--no-cache", "--output-format", "concise", f"-j{jobs}", "."]
                result = CliRunner().invoke(main, args, catch_exceptions=False)
            finally:
                os.chdir(before)
            outcomes[jobs] = (result.exit_code, result.stdout, result.stderr, _tree(copy))
    assert outcomes[1] == outcomes[2]
    assert outcomes[1][0] in (0, 1), outcomes[1][2]


@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_every_splitlines_only_character_is_covered(character: str) -> None:
    """The strategies draw from exactly the characters where the two line models disagree."""
    assert len(f"a{character}b".splitlines()) == 2
    assert compile(f"x = 1  # a{character}b\n", "x.py", "exec") is not None
