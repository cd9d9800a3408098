"""Hostile input and faults (issue 14, classes F-O): every failure is one file's clear
message, the other files are still checked and fixed, and nothing is half written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import gradlint.project_fixes
import gradlint.source
import gradlint.writing
from gradlint import registry
from gradlint.cache import frame
from cli_support import FIXABLE, ROOT, UNFIXABLE, Project, finding_lines, run_cli
from cli_support import FIXABLE_FIXED_TORCH_ONLY as FIXABLE_FIXED  # these projects do not declare the runtime

needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symlinks")
GL004_FIXTURE = ROOT / "fixtures" / "gl004"


def _subprocess(args: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "gradlint", *args],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120, env=env, **kwargs,  # type: ignore[arg-type]
    )


# -- F: special files named on the command line -----------------------------------------------


@needs_posix
@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_special_file_is_refused_before_opening(project: Project, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    project.write("a.py", FIXABLE)
    special = project.root / "special.py"
    if kind == "fifo":
        os.mkfifo(special)
    else:
        os.symlink("/dev/zero", special)
    opened: list[str] = []
    real_open = os.open

    def spy(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.path.basename(str(path)))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(gradlint.source.os, "open", spy)
    result = run_cli("check", "--no-cache", "a.py", "special.py")
    assert "special.py" not in opened
    assert result.code == 1
    what = "a FIFO" if kind == "fifo" else "a character device"
    assert f"special.py:1:1: GL000 cannot read file: not a regular file ({what})" in result.stdout
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002", "special.py:1:1: GL000"]


@needs_posix
def test_special_files_never_hang_a_real_run(project: Project) -> None:
    """The same in a fresh process (a regression would read /dev/zero forever, not fail)."""
    project.write("a.py", FIXABLE)
    os.mkfifo(project.root / "pipe.py")
    os.symlink("/dev/zero", project.root / "zero.py")
    result = _subprocess(["check", "a.py", "pipe.py", "zero.py"], project.root)
    assert result.returncode == 1, result.stderr
    assert "pipe.py:1:1: GL000 cannot read file: not a regular file (a FIFO)" in result.stdout
    assert "zero.py:1:1: GL000 cannot read file: not a regular file (a character device)" in result.stdout
    assert "a.py:3:9: GL002" in result.stdout


@needs_posix
def test_special_files_in_a_walked_directory_are_skipped(project: Project) -> None:
    project.write("a.py", FIXABLE)
    os.mkfifo(project.root / "pipe.py")
    os.symlink("/dev/zero", project.root / "zero.py")
    result = run_cli("check", "--no-cache", ".")
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002"]


# -- G: a symlink loop named on the command line --------------------------------------------


@needs_posix
def test_symlink_loop_named_on_the_command_line(project: Project) -> None:
    project.write("a.py", FIXABLE)
    os.symlink("loop.py", project.root / "loop.py")
    result = run_cli("check", "--no-cache", "loop.py", "a.py")
    assert result.code == 1, result.stderr
    assert "internal error" not in result.stderr
    assert "loop.py:1:1: GL000 cannot read file: a symlink loop" in result.stdout
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002", "loop.py:1:1: GL000"]
    fixing = run_cli("check", "--fix", "loop.py", "a.py")
    assert "internal error" not in fixing.stderr
    assert (project.root / "a.py").read_text() == FIXABLE_FIXED


# -- H: --fix through a symlink --------------------------------------------------------------


@needs_posix
@pytest.mark.parametrize("named", ["link", "directory"])
def test_fix_through_a_symlink_writes_the_target_and_keeps_the_link(project: Project, named: str) -> None:
    target = project.write("real/train.py", FIXABLE)
    target.chmod(0o640)
    link = project.root / "src" / "train.py"
    link.parent.mkdir()
    os.symlink("../real/train.py", link)
    result = run_cli("check", "--fix", "src/train.py" if named == "link" else "src")
    assert result.code == 0, result.stdout + result.stderr
    assert link.is_symlink() and os.readlink(link) == "../real/train.py"
    assert target.read_text() == FIXABLE_FIXED
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(link.parent)) == ["train.py"]  # no temporary file left beside the link
    assert sorted(os.listdir(target.parent)) == ["train.py"]


# -- one file reached by two paths ------------------------------------------------------------

_TWO_PATHS = {
    "listed-twice": ["telemetry", "telemetry"],
    "absolute-and-relative": ["telemetry", "{root}/telemetry/collectors.py"],
    "file-then-its-directory": ["telemetry/collectors.py", "telemetry"],
    "linked-directory": ["telemetry", "view"],
    "linked-file": ["telemetry", "link.py"],
}


def _two_paths(root: Path, how: str) -> list[str]:
    os.symlink("telemetry", root / "view")
    os.symlink("telemetry/collectors.py", root / "link.py")
    return [arg.format(root=root) for arg in _TWO_PATHS[how]]


@needs_posix
@pytest.mark.parametrize("how", sorted(_TWO_PATHS))
def test_a_file_reached_by_two_paths_is_checked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Reported once, under the first path given; GL004 counts its places once."""
    root = _gl004_project(tmp_path, monkeypatch)
    alone = run_cli("check", "--no-cache", "telemetry")
    args = _two_paths(root, how)
    twice = run_cli("check", "--no-cache", *args)
    assert twice.code == alone.code == 1
    if how == "absolute-and-relative":
        assert str(root) not in twice.stdout  # the walk of `telemetry` came first
    assert twice.stdout == alone.stdout
    listed = run_cli("check", "--show-files", *args)
    assert len(listed.stdout.splitlines()) == len({os.path.realpath(p) for p in listed.stdout.splitlines()}) == 8


@needs_posix
@pytest.mark.parametrize("first", ["link.py", "a.py"])
def test_a_file_reached_by_two_paths_is_reported_under_the_first(project: Project, first: str) -> None:
    project.write("a.py", FIXABLE)
    os.symlink("a.py", project.root / "link.py")
    other = "a.py" if first == "link.py" else "link.py"
    result = run_cli("check", "--no-cache", first, other, str(project.root / "a.py"))
    assert finding_lines(result.stdout) == [f"{first}:3:9: GL002"]


@needs_posix
def test_a_hard_link_is_a_file_of_its_own(project: Project) -> None:
    """Each name of a hard-linked file is checked (and fixed: the atomic write splits them)."""
    project.write("a.py", FIXABLE)
    os.link(project.root / "a.py", project.root / "b.py")
    result = run_cli("check", "--no-cache", "a.py", "b.py")
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002", "b.py:3:9: GL002"]


@needs_posix
@pytest.mark.parametrize("how", ["linked-directory", "absolute-and-relative"])
def test_fixing_a_file_reached_by_two_paths_fixes_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    root = _gl004_project(tmp_path, monkeypatch)
    reference = tmp_path / "reference"
    shutil.copytree(root, reference, symlinks=True)
    monkeypatch.chdir(reference)
    alone = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "telemetry")
    monkeypatch.chdir(root)
    args = _two_paths(root, how)
    twice = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", *args)
    assert "error" not in twice.stderr, twice.stderr
    assert (twice.code, twice.stdout) == (alone.code, alone.stdout)
    snapshot = _snapshot(root)
    del snapshot["link.py"]
    assert snapshot == _snapshot(reference)


# -- I: one failed write ---------------------------------------------------------------------


def _fail_writes_of(monkeypatch: pytest.MonkeyPatch, name: str, how: str) -> None:
    if how == "read-only":
        (Path.cwd() / name).chmod(0o444)  # a rename would replace it anyway: refused first
        return
    if how == "read-only-file-system":
        real_stage = gradlint.source.stage

        def refused(target: str, data: bytes, mode: int) -> str:
            if os.path.basename(target) == name:
                raise OSError(30, "Read-only file system")
            return real_stage(target, data, mode)

        monkeypatch.setattr(gradlint.source, "stage", refused)
        return
    real = gradlint.writing.write_atomically

    def flaky(path: str, data: bytes) -> None:
        if os.path.basename(path) == name:
            if how == "deleted":
                os.unlink(path)  # gone between the check and the write
            else:
                raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(gradlint.writing, "write_atomically", flaky)


@pytest.mark.parametrize("how", ["deleted", "disk-full", "read-only", "read-only-file-system"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_failed_write_is_reported_and_the_others_are_written(
    project: Project, monkeypatch: pytest.MonkeyPatch, how: str, jobs: str
) -> None:
    for index in range(20):
        project.write(f"m{index:02d}.py", FIXABLE)
    project.write("u.py", UNFIXABLE)
    _fail_writes_of(monkeypatch, "m07.py", how)
    result = run_cli("check", "--fix", "-j", jobs, ".")
    assert result.code == 2
    assert "internal error" not in result.stderr
    assert "gradlint: error: m07.py: cannot write the fixes (" in result.stderr
    written = [i for i in range(20) if (project.root / f"m{i:02d}.py").exists()
               and (project.root / f"m{i:02d}.py").read_text() == FIXABLE_FIXED]
    assert written == [i for i in range(20) if i != 7]
    if how != "deleted":
        assert (project.root / "m07.py").read_text() == FIXABLE
    if how == "read-only":
        assert "m07.py: cannot write the fixes (read-only file)" in result.stderr
        assert (project.root / "m07.py").stat().st_mode & 0o777 == 0o444
    assert not list(project.root.glob(".gradlint-*"))
    # The report is still printed, and the unwritten file's findings count as remaining.
    assert finding_lines(result.stdout) == ["m07.py:3:9: GL002", "u.py:3:9: GL002"]
    assert "Found 21 errors (19 fixed, 2 remaining)." in result.stdout


# -- J: the project-wide GL004 fix, staged as a whole -----------------------------------------


def _gl004_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "gl004"
    shutil.copytree(GL004_FIXTURE, copy)
    monkeypatch.chdir(copy)
    return copy


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and ".gradlint_cache" not in p.parts}


def test_project_fix_renames_every_file_into_place_constants_module_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _gl004_project(tmp_path, monkeypatch)
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def recording(source: str, target: str) -> None:
        renames.append((os.path.basename(str(source)), os.path.relpath(str(target), root)))
        real_replace(source, target)

    monkeypatch.setattr(gradlint.project_fixes.os, "replace", recording)
    result = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "-j1", ".")
    assert "internal error" not in result.stderr and "not written" not in result.stderr
    targets = [target for _, target in renames]
    assert targets[0] == "telemetry/constants.py"  # created, and renamed in before any importer
    assert set(targets) >= {"telemetry/collectors.py", "telemetry/monitor.py", "telemetry/trainer.py"}
    assert all(source.startswith(".gradlint-") for source, _ in renames)
    assert not [p for p in root.rglob(".gradlint-*")]


@pytest.mark.parametrize("failing_rename", [1, 2, 3])
def test_project_fix_rolls_back_when_a_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_rename: int
) -> None:
    root = _gl004_project(tmp_path, monkeypatch)
    before = _snapshot(root)
    calls: list[str] = []
    real_replace = os.replace

    def failing(source: str, target: str) -> None:
        calls.append(str(target))
        if len(calls) == failing_rename:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(gradlint.project_fixes.os, "replace", failing)
    result = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "-j1", ".")
    assert result.code == 2
    assert "internal error" not in result.stderr
    assert "GL004 project fix not written:" in result.stderr and "rolled back" in result.stderr
    assert _snapshot(root) == before  # the constants module was removed again, importers restored
    assert not [p for p in root.rglob(".gradlint-*")]
    # The GL004 findings are reported as remaining.
    gl004 = [line for line in finding_lines(result.stdout) if line.endswith("GL004")]
    assert len(gl004) == len(finding_lines(run_cli("check", "--no-cache", "--select", "GL004", ".").stdout))
    assert gl004


def test_project_fix_rolls_back_on_ctrl_c_between_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradlint.project_fixes import ProjectFixPlan, write_plan

    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(f"{name[0].upper()} = 1\n")
    before = _snapshot(tmp_path)
    plan = ProjectFixPlan(texts={str(tmp_path / n): f"{n[0].upper()} = 2\n" for n in ("a.py", "b.py", "c.py")})
    plan.texts[str(tmp_path / "constants.py")] = "X = 1\n"
    plan.created.append(str(tmp_path / "constants.py"))
    plan.homes.append(str(tmp_path / "constants.py"))
    calls: list[str] = []
    real_replace = os.replace

    def interrupted(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(gradlint.project_fixes.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_plan(plan)
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["a.py", "b.py", "c.py"]


_KILLED_AT_THIRD_RENAME = """
import os, sys
import gradlint.project_fixes
from gradlint.cli import main
real, calls = os.replace, []
def replace(source, target):
    calls.append(target)
    if len(calls) == 3:
        os._exit(9)
    real(source, target)
gradlint.project_fixes.os.replace = replace
main(["check", "--fix", "--unsafe-fixes", "--no-cache", "-j1", "."])
"""


def test_a_kill_between_project_renames_leaves_what_the_readme_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README: the files renamed so far (constants module first), the others unfixed, and
    ``.gradlint-*.tmp`` files beside them."""
    root = _gl004_project(tmp_path, monkeypatch)
    before = _snapshot(root)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.run([sys.executable, "-c", _KILLED_AT_THIRD_RENAME], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == 9, killed.stderr
    after = _snapshot(root)
    leftovers = [name for name in after if os.path.basename(name).startswith(".gradlint-")]
    after = {name: data for name, data in after.items() if name not in leftovers}
    assert "telemetry/constants.py" in after and after["telemetry/constants.py"] != before["telemetry/constants.py"]
    changed = sorted(name for name in before if after[name] != before[name])
    assert len(changed) == 2  # the constants module and the first importer; the rest unfixed
    assert leftovers
    for name in changed:
        compile(after[name], name, "exec")


def test_project_fix_staging_failure_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _gl004_project(tmp_path, monkeypatch)
    before = _snapshot(root)
    real_stage = gradlint.project_fixes.stage
    staged: list[str] = []

    def full_disk(target: str, data: bytes, mode: int) -> str:
        staged.append(target)
        if len(staged) == 4:
            raise OSError(28, "No space left on device")
        return real_stage(target, data, mode)

    monkeypatch.setattr(gradlint.project_fixes, "stage", full_disk)
    result = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "-j1", ".")
    assert result.code == 2
    assert "cannot stage the fix: No space left on device" in result.stderr
    assert _snapshot(root) == before
    assert not [p for p in root.rglob(".gradlint-*")]


def test_project_fix_with_a_read_only_file_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _gl004_project(tmp_path, monkeypatch)
    (root / "telemetry" / "monitor.py").chmod(0o444)
    before = _snapshot(root)
    result = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "-j1", ".")
    assert result.code == 2
    assert "GL004 project fix not written: telemetry/monitor.py: cannot stage the fix: read-only file" in result.stderr
    assert _snapshot(root) == before
    assert not [p for p in root.rglob(".gradlint-*")]


# -- compare before write: a file whose fixed bytes equal its own is not touched ----------------


def _stamps(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and ".gradlint_cache" not in p.parts}


def _age(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(1_000_000_000, 1_000_000_000))


def test_writing_the_same_bytes_touches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.py"
    path.write_bytes(b"x = 1\r\n")
    _age(tmp_path)
    before = _stamps(tmp_path)

    def no_temporary(*args: object, **kwargs: object) -> None:
        raise AssertionError("a temporary file was made for unchanged bytes")

    monkeypatch.setattr(tempfile, "mkstemp", no_temporary)
    gradlint.source.write_atomically(str(path), b"x = 1\r\n")
    assert _stamps(tmp_path) == before
    monkeypatch.undo()
    gradlint.source.write_atomically(str(path), b"x = 2\r\n")
    assert path.read_bytes() == b"x = 2\r\n"


def test_project_fix_leaves_a_file_whose_new_text_is_its_own(tmp_path: Path) -> None:
    from gradlint.project_fixes import ProjectFixPlan, write_plan

    same, changed = tmp_path / "same.py", tmp_path / "changed.py"
    same.write_text("A = 1\n")
    changed.write_text("B = 1\n")
    _age(tmp_path)
    before = _stamps(tmp_path)
    plan = ProjectFixPlan(texts={str(same): "A = 1\n", str(changed): "B = 2\n", str(tmp_path / "new.py"): "C = 3\n"})
    plan.created.append(str(tmp_path / "new.py"))
    write_plan(plan)
    after = _stamps(tmp_path)
    assert after["same.py"] == before["same.py"]
    assert after["changed.py"] != before["changed.py"] and changed.read_text() == "B = 2\n"
    assert (tmp_path / "new.py").read_text() == "C = 3\n"
    assert sorted(os.listdir(tmp_path)) == ["changed.py", "new.py", "same.py"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_second_fix_touches_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str) -> None:
    """After ``--fix``, a second ``--fix`` rewrites nothing: same inodes, same mtimes."""
    root = _gl004_project(tmp_path, monkeypatch)
    for index in range(10):
        (root / "scripts" / f"fixable_{index}.py").write_text(FIXABLE)
    first = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", f"-j{jobs}", ".")
    assert "fixed" in first.stdout and "error" not in first.stderr, first.stderr
    _age(root)
    before = _stamps(root)
    second = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", f"-j{jobs}", ".")
    assert "error" not in second.stderr, second.stderr
    assert _stamps(root) == before


# -- K, L: malformed cache entries and rule snapshots -------------------------------------------


def _entries(root: Path) -> list[Path]:
    """The per-file entries (not the rule snapshot, the stat index or project rules' findings)."""
    return [
        p for p in (root / ".gradlint_cache").rglob("*.json")
        if not p.name.startswith("registry-") and not {"index", "reduced"} & set(p.parts)
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"null",
        b"[]",
        b"{}",
        b'{"findings": null, "facts": {}}',
        frame(None),
        frame([]),
        frame({}),
        frame({"findings": None, "facts": {}}),
        frame({"findings": [{"code": "GL002"}], "facts": {}}),
        frame({"findings": [], "facts": []}),
        frame({"findings": [], "facts": {"GL004": "x"}}),
        frame({"findings": [{"code": 1, "message": "m", "location": {"row": 1, "column": 1},
                             "end_location": {"row": 1, "column": 1}}], "facts": {}}),
        b"\xff\xfe not json",
    ],
)
def test_malformed_cache_entry_is_discarded_and_recomputed(project: Project, content: bytes) -> None:
    project.write("a.py", FIXABLE)
    first = run_cli("check", ".")
    (entry,) = _entries(project.root)
    entry.write_bytes(content)
    again = run_cli("check", ".")
    assert again.code == 1, again.stderr
    assert again.stderr == ""
    assert again.stdout == first.stdout
    assert entry.read_bytes() != content  # overwritten with a good entry
    assert run_cli("check", ".").stdout == first.stdout


@pytest.mark.parametrize("snapshot", [frame([]), b"[]", frame({}), frame([{"code": "GL001"}]), b"garbage"])
def test_malformed_rule_snapshot_is_rebuilt(
    project: Project, monkeypatch: pytest.MonkeyPatch, snapshot: bytes
) -> None:
    project.write("a.py", FIXABLE)
    monkeypatch.setattr(registry, "_loaded", None)  # as in a new process
    first = run_cli("check", ".")  # writes the snapshot
    (path,) = (project.root / ".gradlint_cache").rglob("registry-*.json")
    path.write_bytes(snapshot)
    for entry in _entries(project.root):
        entry.unlink()
    monkeypatch.setattr(registry, "_loaded", None)
    result = run_cli("check", ".")
    assert result.code == 1
    assert result.stdout == first.stdout
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002"]
    assert json.loads(path.read_bytes().partition(b"\n")[2])  # rewritten


def test_clean_never_removes_a_directory_gradlint_did_not_make(project: Project) -> None:
    project.write("src/a.py", FIXABLE)
    project.config('cache-dir = "src"\n')
    result = run_cli("clean")
    assert result.code == 2
    assert "is not a gradlint cache" in result.stderr
    assert (project.root / "src" / "a.py").exists()


# -- M: configuration mistakes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('tool = "gradlint"\n', "`tool` must be a table"),
        ('[tool.gradlint]\nexclude = ["!"]\n', "`exclude`: invalid pattern `!`"),
        ('[tool.gradlint]\nextend-exclude = ["**/[z-a].py"]\n', "`extend-exclude`: invalid pattern `**/[z-a].py`"),
        ('[tool.gradlint]\nper-file-ignores = { "!" = ["GL002"] }\n', "`per-file-ignores`: invalid pattern `!`"),
        ('[tool.gradlint]\nper-file-ignores = { "**/[z-a].py" = ["GL002"] }\n',
         "`per-file-ignores`: invalid pattern `**/[z-a].py`"),
        ('[tool.gradlint]\nruntime-module = ""\n', "`runtime-module`: '' is not a dotted module name"),
        ('[tool.gradlint]\nruntime-module = "not a module!"\n',
         "`runtime-module`: 'not a module!' is not a dotted module name"),
        ('[tool.gradlint]\nconstants-module = "{package}.1st"\n', "`constants-module`: '{package}.1st'"),
        ('[tool.gradlint]\ncache-dir = ""\n', "`cache-dir` must not be empty"),
        ('[tool.gradlint]\ncache-dir = "."\n', "`cache-dir`: `.` is the project folder or above it"),
        ('[tool.gradlint]\ncache-dir = ".."\n', "`cache-dir`: `..` is the project folder or above it"),
    ],
)
@pytest.mark.parametrize("fix", [False, True])
def test_config_value_mistakes_name_the_key(project: Project, body: str, named: str, fix: bool) -> None:
    project.write("pyproject.toml", body)
    path = project.write("a.py", FIXABLE)
    result = run_cli("check", *(["--fix"] if fix else []), ".")
    assert result.code == 2
    assert "internal error" not in result.stderr
    assert named in result.stderr
    assert path.read_text() == FIXABLE


def test_valid_module_options_are_accepted(project: Project) -> None:
    project.config('runtime-module = "mylib.runtime"\nconstants-module = "{package}.tuning"\n')
    project.write("a.py", FIXABLE)
    result = run_cli("check", "--fix", ".")
    assert result.code == 0, result.stderr
    assert "import mylib.runtime" in project.read("a.py")


# -- O: standard input -------------------------------------------------------------------------


def test_closed_stdin_is_a_clear_error(project: Project) -> None:
    result = _subprocess(["check", "-"], project.root, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2
    assert "internal error" not in result.stderr
    assert "gradlint: error: `-`: standard input is closed" in result.stderr


def test_oversized_stdin_is_refused(project: Project) -> None:
    project.config("max-file-size = 100\n")
    result = run_cli("check", "-", "--stdin-filename", "a.py", input=b"x = 1\n" * 100)
    assert result.code == 2
    assert "larger than max-file-size (100 bytes)" in result.stderr


# -- one file's failure never ends the run -------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("error", [RecursionError, MemoryError, KeyError])
@pytest.mark.parametrize("fix", [False, True])
def test_a_crash_on_one_file_is_that_files_error(
    project: Project, monkeypatch: pytest.MonkeyPatch, jobs: str, error: type[BaseException], fix: bool
) -> None:
    from gradlint.runner import _Worker

    for index in range(20):
        project.write(f"m{index:02d}.py", FIXABLE)
    real = _Worker._process_bytes

    def crashing(self, path: str, data: bytes):  # type: ignore[no-untyped-def]
        if path.endswith("m05.py"):
            raise error("boom")
        return real(self, path, data)

    monkeypatch.setattr(_Worker, "_process_bytes", crashing)  # inherited by forked workers
    result = run_cli("check", "--no-cache", "-j", jobs, *(["--fix"] if fix else []), ".")
    assert "internal error:" not in result.stderr.replace("m05.py: internal error:", "")
    if error is RecursionError:
        # Still too deep after the deep-stack retry: one GL000 that says so, not a tool failure.
        assert result.code == 1
        assert "m05.py:1:1: GL000 cannot analyse: nested too deeply" in result.stdout
    else:
        assert result.code == 2
        assert "gradlint: error: m05.py: " in result.stderr
    assert "All checks passed!" not in result.stdout
    if fix:
        assert all((project.root / f"m{i:02d}.py").read_text() == (FIXABLE if i == 5 else FIXABLE_FIXED)
                   for i in range(20))
        assert "19 fixed" in result.stdout
    else:
        assert len([line for line in finding_lines(result.stdout) if "GL002" in line]) == 19


def test_a_dying_worker_loses_only_its_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradlint.runner import _Worker

    for index in range(20):
        project.write(f"m{index:02d}.py", FIXABLE)
    real = _Worker._process_bytes

    def dying(self, path: str, data: bytes):  # type: ignore[no-untyped-def]
        if path.endswith("m05.py"):
            os._exit(9)  # as if the kernel killed the worker for its memory
        return real(self, path, data)

    monkeypatch.setattr(_Worker, "_process_bytes", dying)
    result = run_cli("check", "--no-cache", "-j2", ".")
    assert result.code == 2
    assert "m05.py: not checked: a worker process died" in result.stderr
    assert sorted(line.split(":")[0] for line in finding_lines(result.stdout)) == [
        f"m{i:02d}.py" for i in range(20) if i != 5
    ]


def test_a_crashing_reduce_step_keeps_the_other_findings(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradlint.rules._constant_groups as groups

    def crash(facts, settings):  # type: ignore[no-untyped-def]
        raise ValueError("bad fact")

    monkeypatch.setattr(groups, "reduce_facts", crash)
    project.write("a.py", FIXABLE)
    project.write("b.py", "health -= vanishing_ratio * 0.5\n")
    project.write("c.py", "score -= vanishing_ratio * 0.5\n")
    result = run_cli("check", "--no-cache", "-j1", ".")
    assert result.code == 2
    assert "GL004: the project-wide step failed: ValueError: bad fact" in result.stderr
    assert finding_lines(result.stdout) == ["a.py:3:9: GL002"]


def test_a_run_whose_only_file_failed_never_says_all_checks_passed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradlint.runner import _Worker

    def crashing(self, path: str, data: bytes):  # type: ignore[no-untyped-def]
        raise KeyError("boom")

    monkeypatch.setattr(_Worker, "_process_bytes", crashing)
    project.write("a.py", "x = 1\n")
    result = run_cli("check", "--no-cache", "-j1", ".")
    assert result.code == 2
    assert "All checks passed!" not in result.stdout
    assert "No findings, but 1 error stopped checking (see above)." in result.stdout
    assert "a.py: internal error: KeyError: 'boom'" in result.stderr
