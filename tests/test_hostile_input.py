"""Hostile input to the reading pipeline (issue 14, classes A-E): line-break characters the
tokenizer and ``str.splitlines`` disagree on, libcst's limits, deep nesting, huge literals.

Each case asserts the right result (the finding is still reported, or a clear per-file
message is given), never only "no crash"; none asserts a time.
"""

from __future__ import annotations

import pytest

from cli_support import FIXABLE, Project, finding_lines, run_cli
from cli_support import FIXABLE_FIXED_TORCH_ONLY as FIXABLE_FIXED  # these projects do not declare the runtime

# Characters str.splitlines() splits on and Python's tokenizer does not.
SPLITLINES_ONLY = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]

# One pattern per rule (GL001 still a libcst visitor; GL002, GL003 on the semantic model),
# after a helper whose brackets span lines: blanking the wrong lines breaks them.
RULE_BODIES = {
    "GL001": "def f(grads):\n    return sum(g.pow(2).sum() for g in grads).sqrt()\n",
    "GL002": "def f(grads):\n    return torch._foreach_norm(grads)\n",
    "GL003": 'def f(params, device="cpu"):\n    return torch.stack([p.grad.norm() for p in params]).to(device)\n',
}
HELPER = "def helper():\n    return (1,\n            2)\n\n\n"


def _rows(stdout: str) -> list[str]:
    return finding_lines(stdout)


def _check(project: Project, name: str, text: str, *args: str) -> list[str]:
    project.write(name, text.encode("utf-8"))
    result = run_cli("check", "--no-cache", "-j1", "--output-format", "concise", *args, name)
    assert "internal error" not in result.stderr, result.stderr
    assert "error:" not in result.stderr, result.stderr
    return _rows(result.stdout)


# -- A: line splitting ---------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RULE_BODIES))
@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_a_line_break_character_in_a_comment_loses_no_finding(project: Project, code: str, character: str) -> None:
    plain = f"import torch\n# a note\n{HELPER}{RULE_BODIES[code]}"
    special = f"import torch\n# a{character}note\n{HELPER}{RULE_BODIES[code]}"
    expected = _check(project, "plain.py", plain)
    assert [line.split(": ")[1] for line in expected] == [code]
    assert [line.replace("special", "plain") for line in _check(project, "special.py", special)] == expected


@pytest.mark.parametrize("code", sorted(RULE_BODIES))
def test_the_form_feed_line_of_the_issue(project: Project, code: str) -> None:
    """The reproducer: a form feed alone on a line before a helper with multi-line brackets."""
    text = f"import torch\n\x0c\n{HELPER}{RULE_BODIES[code]}"
    plain = _check(project, "b.py", text.replace("\x0c", ""))
    assert [line.replace("a.py", "b.py") for line in _check(project, "a.py", text)] == plain
    assert _check(project, "a.py", text)


@pytest.mark.parametrize("code", sorted(RULE_BODIES))
@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_a_line_break_character_in_a_string_loses_no_finding(project: Project, code: str, character: str) -> None:
    plain = f"import torch\nNOTE = 'a  b'\n{HELPER}{RULE_BODIES[code]}"
    special = f"import torch\nNOTE = 'a {character}b'\n{HELPER}{RULE_BODIES[code]}"
    assert [line.replace("special", "plain") for line in _check(project, "special.py", special)] == _check(
        project, "plain.py", plain
    )


@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_noqa_after_a_line_break_character_suppresses_its_own_line(project: Project, character: str) -> None:
    text = (
        f"import torch\n# a{character}note\n"
        "a = torch._foreach_norm(x)  # noqa: GL002\n"
        "b = torch._foreach_norm(y)\n"
    )
    assert _check(project, "a.py", text) == ["a.py:4:5: GL002"]


@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_fixes_after_a_line_break_character_edit_the_right_line(project: Project, character: str) -> None:
    text = f"# a{character}note\n" + FIXABLE + "x = 1  # noqa: GL001\n"
    path = project.write("a.py", text.encode("utf-8"))
    result = run_cli("check", "--fix", "--extend-select", "GL100", "a.py")
    assert "error" not in result.stderr, result.stderr
    assert path.read_bytes().decode("utf-8") == f"# a{character}note\n" + FIXABLE_FIXED + "x = 1\n"


@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_diff_keeps_a_line_break_character_inside_its_line(project: Project, character: str) -> None:
    project.write("a.py", (f"x = 1  # a{character}b\n" + FIXABLE).encode("utf-8"))
    result = run_cli("check", "--diff", "a.py")
    assert "No newline at end of file" not in result.stdout
    assert f" x = 1  # a{character}b\n" in result.stdout


# -- B: libcst's limits --------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RULE_BODIES))
def test_a_form_feed_before_an_indented_line(project: Project, code: str) -> None:
    body = RULE_BODIES[code].replace("\n    return", "\n\x0c    return")
    compile(body, "x.py", "exec")  # Python accepts it
    assert [line.split(": ")[1] for line in _check(project, "a.py", "import torch\n" + body)] == [code]


@pytest.mark.parametrize("code", sorted(RULE_BODIES))
def test_five_thousand_concatenated_strings(project: Project, code: str) -> None:
    strings = "TEXT = (\n" + "".join(f"    'part {i} '\n" for i in range(5000)) + ")\n"
    found = _check(project, "a.py", "import torch\n" + strings + RULE_BODIES[code])
    assert [line.split(": ")[1] for line in found] == [code]


# -- C, D: deep nesting ------------------------------------------------------------------------


def _deep(kind: str, depth: int, inner: str) -> str:
    if kind == "if":
        return "".join("    " * i + "if x:\n" for i in range(depth)) + "    " * depth + f"y = {inner}\n"
    if kind == "elif":
        return "if x:\n    pass\n" + "elif x:\n    pass\n" * depth + f"else:\n    y = {inner}\n"
    if kind == "brackets":
        return "y = " + "[" * depth + inner + "]" * depth + "\n"
    if kind == "calls":
        return "y = " + "f(" * depth + inner + ")" * depth + "\n"
    if kind == "lambda":
        return "y = " + "lambda: " * depth + inner + "\n"
    if kind == "not":
        return "y = " + "not " * depth + inner + "\n"
    if kind == "attribute":
        return f"y = {inner}" + ".real" * depth + "\n"
    raise AssertionError(kind)


DEEP = [("if", 68), ("if", 99), ("brackets", 136), ("brackets", 199), ("calls", 137), ("calls", 190),
        ("elif", 316), ("elif", 2000), ("lambda", 316), ("lambda", 1000), ("not", 1000), ("not", 5000),
        ("attribute", 900)]
INNER = {
    "GL001": "torch.sqrt(sum(g.pow(2).sum() for g in grads))",
    "GL002": "torch._foreach_norm(grads)",
}


@pytest.mark.parametrize("code", sorted(INNER))
@pytest.mark.parametrize(("kind", "depth"), DEEP)
def test_deep_nesting_of_valid_python_is_checked_or_clearly_refused(
    project: Project, kind: str, depth: int, code: str
) -> None:
    text = "import torch\n" + _deep(kind, depth, INNER[code])
    try:
        compile(text, "a.py", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        pytest.skip("Python itself rejects this depth")  # then GL000 is right (the fuzz suite checks it)
    project.write("deep.py", text)
    project.write("ok.py", FIXABLE)
    result = run_cli("check", "--no-cache", "-j1", "--output-format", "concise", ".")
    assert "All checks passed!" not in result.stdout
    assert "internal error" not in result.stderr
    assert "ok.py:3:9: GL002" in _rows(result.stdout)
    deep = [line for line in _rows(result.stdout) if line.startswith("deep.py")]
    if deep == [f"deep.py:1:1: GL000"]:
        assert "nested too deeply" in result.stdout
    else:
        assert [line.split(": ")[1] for line in deep] == [code], result.stdout + result.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_lambda_chain_never_ends_the_run(project: Project, jobs: str) -> None:
    """D: ``'lambda: ' * 316`` once ended the whole run (nothing fixed with ``--fix -j1``)."""
    project.write("deep.py", "import torch\nf = " + "lambda: " * 316 + "torch._foreach_norm(g)\n")
    for index in range(17):
        project.write(f"m{index:02d}.py", FIXABLE)
    result = run_cli("check", "--fix", "-j", jobs, ".")
    assert "internal error" not in result.stderr
    assert all(project.read(f"m{index:02d}.py") == FIXABLE_FIXED for index in range(17))
    assert "17 fixed" in result.stdout or "18 fixed" in result.stdout


def test_a_long_sum_of_squares(project: Project) -> None:
    """C: a sum of 2,000 terms crashed GL001 after half a minute; 600 terms are as deep for the
    recursion limit (the time is libcst's parse, superlinear in such chains: README "Limits")."""
    terms = " + ".join(f"grads[{i}].pow(2).sum()" for i in range(600))
    text = f"import torch\n\n\ndef f(grads):\n    total = {terms}\n    return total.sqrt()\n"
    project.write("a.py", text)
    result = run_cli("check", "--no-cache", "-j1", "--output-format", "concise", "a.py")
    assert "internal error" not in result.stderr and "crashed" not in result.stderr, result.stderr
    assert [(row.split(":")[1], row.split(": ")[1]) for row in _rows(result.stdout)] == [("5", "GL001")]


@pytest.mark.parametrize("deep_enough", [True, False])
def test_a_recursion_error_is_retried_with_a_deep_stack_then_one_clear_gl000(
    project: Project, monkeypatch: pytest.MonkeyPatch, deep_enough: bool
) -> None:
    """The backstop for depth (no input Python compiles needs it today): an analysis that runs
    out of recursion is run again with MAX_DEPTH; past that the file gets one GL000."""
    import sys

    from gradlint.engine import Engine

    real = Engine.check_text

    def shallow(self, text, info):  # type: ignore[no-untyped-def]
        if "deep" in info.path and (sys.getrecursionlimit() < 5000 or not deep_enough):
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, text, info)

    monkeypatch.setattr(Engine, "check_text", shallow)
    project.write("deep.py", FIXABLE)
    project.write("ok.py", FIXABLE)
    for fix in ([], ["--fix"]):
        result = run_cli("check", "--no-cache", "-j1", "--output-format", "concise", *fix, ".")
        assert "internal error" not in result.stderr
        assert "All checks passed!" not in result.stdout
        if deep_enough:
            assert result.code == (0 if fix else 1), result.stdout + result.stderr
        else:
            assert result.code == 1
            assert "deep.py:1:1: GL000 cannot analyse: nested too deeply (over 20000 levels" in result.stdout
    assert project.read("ok.py") == FIXABLE_FIXED
    assert project.read("deep.py") == (FIXABLE_FIXED if deep_enough else FIXABLE)


# -- E: huge literals ------------------------------------------------------------------------


def test_a_hundred_thousand_element_list(project: Project) -> None:
    items = ", ".join(str(i) for i in range(100_000))
    project.write("big.py", f"import torch\nTABLE = [{items}]\nnorms = torch._foreach_norm(grads, 2.0)\n")
    result = run_cli("check", "--no-cache", "-j1", "--output-format", "concise", "big.py")
    assert result.code == 1, result.stderr
    assert _rows(result.stdout) == ["big.py:3:9: GL002"]


# -- found by the fuzz suite ------------------------------------------------------------------


def test_a_coding_cookie_in_a_file_with_cr_line_endings(project: Project) -> None:
    """``detect_encoding`` read the whole CR-only file as one line: a false GL000."""
    data = b"# -*- coding: latin-1 -*-\r# H\xe9l\xe8ne\r" + FIXABLE.replace("\n", "\r").encode()
    project.write("a.py", data)
    result = run_cli("check", "--no-cache", "--output-format", "concise", "a.py")
    assert _rows(result.stdout) == ["a.py:5:9: GL002"], result.stdout
    run_cli("check", "--fix", "a.py")
    fixed = (project.root / "a.py").read_bytes()
    assert fixed.startswith(b"# -*- coding: latin-1 -*-\r# H\xe9l\xe8ne\r") and b"\n" not in fixed
    assert fixed == data[:35] + FIXABLE_FIXED.replace("\n", "\r").encode()


@pytest.mark.parametrize(
    "source",
    [
        'x = f"{1}"\nfrom __future__ import annotations\n',  # an f-string once made it "newer syntax"
        "return 1\n",
        "def f():\n    nonlocal x\n",
        "for x in y:\n    pass\nbreak\n",
    ],
)
def test_code_the_compiler_rejects_is_gl000(project: Project, source: str) -> None:
    with pytest.raises(SyntaxError):
        compile(source, "a.py", "exec")
    project.write("a.py", source)
    result = run_cli("check", "--no-cache", "--output-format", "concise", "a.py")
    assert result.code == 1
    assert [line.split(": ")[1] for line in _rows(result.stdout)] == ["GL000"]
    assert "newer" not in result.stderr


def test_a_coding_cookie_after_a_non_utf8_byte(project: Project) -> None:
    """CPython reads the cookie from the raw bytes; tokenize.detect_encoding refused the line."""
    data = b"#\xff -*- coding: latin-1 -*-\n# H\xe9l\xe8ne\n" + FIXABLE.encode()
    compile(data, "a.py", "exec")
    project.write("a.py", data)
    result = run_cli("check", "--no-cache", "--output-format", "concise", "a.py")
    assert _rows(result.stdout) == ["a.py:5:9: GL002"], result.stdout


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])  # bom: found by the long fuzz
def test_invalid_utf8_in_a_comment_is_checked_and_never_rewritten(project: Project, bom: bytes) -> None:
    """Python 3.11 runs a file with invalid UTF-8 inside a comment: check it; a fix would have
    to write those bytes back, so it is not fixed (with a warning)."""
    data = bom + b"# caf\xe9 notes\n" + FIXABLE.encode()
    try:
        compile(data, "a.py", "exec")
    except SyntaxError:
        pytest.skip("this Python rejects invalid UTF-8 in comments: GL000 is right")
    project.write("a.py", data)
    result = run_cli("check", "--no-cache", "--output-format", "concise", "a.py")
    assert _rows(result.stdout) == ["a.py:4:9: GL002"], result.stdout
    fixing = run_cli("check", "--fix", "a.py")
    assert (project.root / "a.py").read_bytes() == data
    assert "not fixed: it has bytes that are not valid utf-8" in fixing.stderr
    assert "GL000" not in fixing.stdout


def test_code_for_a_newer_python_is_skipped_with_a_warning_not_gl000(project: Project) -> None:
    import sys

    source = "type Vector = list[float]\n\n\ndef first[T](items: list[T]) -> T:\n    return items[0]\n"
    if sys.version_info >= (3, 12):
        pytest.skip("this Python accepts PEP 695 syntax")
    project.write("new.py", source)
    project.write("ok.py", FIXABLE)
    result = run_cli("check", "--no-cache", "--output-format", "concise", ".")
    assert _rows(result.stdout) == ["ok.py:3:9: GL002"]
    assert "new.py: skipped: uses syntax newer than Python" in result.stderr


# -- A in notebooks: a cell's lines are the tokenizer's lines ---------------------------------


def _notebook_with(project: Project, source: str) -> None:
    import json

    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [source]}
    data = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# notes"]}, cell],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    project.write("train.ipynb", json.dumps(data, indent=1, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_a_line_break_character_in_a_notebook_cell_keeps_the_rows(project: Project, character: str) -> None:
    _notebook_with(project, f"import torch\nx = 1  # a{character}b\nnorms = torch._foreach_norm(grads, 2.0)\n")
    result = run_cli("check", "--no-cache", "--output-format", "concise", "train.ipynb")
    assert "error" not in result.stderr, result.stderr
    assert _rows(result.stdout) == ["train.ipynb:cell 2:3:9: GL002"]


@pytest.mark.parametrize("character", SPLITLINES_ONLY)
def test_fixing_a_notebook_cell_keeps_its_line_break_characters(project: Project, character: str) -> None:
    import json

    _notebook_with(project, f'import torch\ns = "a{character}b"  # c{character}d\nnorms = torch._foreach_norm(grads, 2.0)\n')
    result = run_cli("check", "--no-cache", "--fix", "train.ipynb")
    assert "error" not in result.stderr, result.stderr
    assert result.code == 0, result.stdout
    source = "".join(json.loads(project.read("train.ipynb"))["cells"][1]["source"])
    assert source.startswith(f'import torch\ns = "a{character}b"  # c{character}d\nnorms = ')
    assert "torch.linalg.vector_norm" in source
