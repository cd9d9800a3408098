#!/usr/bin/env python3
"""Benchmark ``gradlint check`` against the parse floors and the peers, in one run.

Every figure is printed as a ratio to the libcst parse floor measured in the same run (these
machines are shared and noisy; absolute times drift, ratios much less).

    python benchmarks/lint_bench.py                      # the installed torch package
    python benchmarks/lint_bench.py --corpus lightning   # the installed Lightning package
    python benchmarks/lint_bench.py --corpus /some/repo --no-peers
    python benchmarks/lint_bench.py --git-dir /path/to/repo.git [--rev HEAD] --no-peers

``--git-dir`` materializes the ``.py`` files of one pinned commit of a git repository (real user
code, the honest corpus: torch's own source is exempt from GL002 and flatters speed) and prints
the commit it measured.

Measured: reading every file; ``ast.parse``; ``libcst.parse_module`` (the floor); gradlint cold
with ``-j1`` and default jobs; warm (cache, nothing changed); after touching one file; and,
on a deterministic sample of files, TorchFix and Fixit (installed into their own virtualenvs
under ``--peer-env-dir``, since TorchFix pins an older libcst) and ``ruff check --select ALL``
when ruff is on PATH, each beside gradlint on the same sample.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PEERS = {"torchfix": "torchfix==0.7.0", "fixit": "fixit==2.2.1"}


@dataclass
class Measure:
    name: str
    wall: float
    cpu: float
    rss_mb: float
    findings: int | None = None
    files: int | None = None


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_corpus(corpus: str) -> Path:
    if corpus == "torch":
        return _package_dir("torch")
    if corpus == "lightning":
        for name in ("lightning", "pytorch_lightning"):
            if importlib.util.find_spec(name) is not None:
                return _package_dir(name)
        raise SystemExit("Lightning is not installed (pip install pytorch-lightning)")
    path = Path(corpus)
    if not path.is_dir():
        raise SystemExit(f"not a directory: {corpus}")
    return path


def materialize(git_dir: Path, rev: str, into: Path) -> str:
    """Write the ``.py`` files of ``rev`` of a git repository under ``into``; the commit id."""
    commit = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit], capture_output=True, check=True
    ).stdout
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        path = name.decode("utf-8", "surrogateescape")
        _, kind, blob = meta.decode().split()
        if kind != "blob" or not path.endswith(".py"):
            continue
        data = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", blob], capture_output=True)
        if data.returncode != 0:
            continue  # an object the snapshot lacks (large files); skipped, not guessed
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.stdout)
    return commit


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


def in_process(name: str, work: Callable[[], object]) -> Measure:
    start_cpu = time.process_time()
    start = time.perf_counter()
    work()
    wall = time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Measure(name, wall, cpu, rss)


# Runs one command and reports its CPU time and peak RSS. It is a separate small process so
# that the figures cover only that command (a child forked from this large benchmark process
# would otherwise inherit its resident pages in the peak RSS).
_MEASURE = """
import json, resource, subprocess, sys
completed = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stdout.write(json.dumps({"rc": completed.returncode, "stdout": completed.stdout,
    "stderr": completed.stderr[-2000:], "cpu": usage.ru_utime + usage.ru_stime,
    "rss_mb": usage.ru_maxrss / 1024}))
"""


def user_environment() -> dict[str, str]:
    """The environment a user's run has: bytecode is written and reused.

    Some machines set ``PYTHONDONTWRITEBYTECODE``; then every run compiles gradlint's own
    source again (about 0.1 CPU-s), which no installed copy does.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def in_subprocess(name: str, command: Sequence[str], cwd: Path, *, count_json: bool = False) -> Measure:
    """Run a command; CPU is its user+system time (workers included), RSS its largest process."""
    start = time.perf_counter()
    wrapper = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(list(command))],
        cwd=cwd, capture_output=True, text=True, check=True, env=user_environment(),
    )
    wall = time.perf_counter() - start
    report = json.loads(wrapper.stdout)
    if report["rc"] not in (0, 1):
        sys.stderr.write(f"{name}: exit {report['rc']}\n{report['stderr']}\n")
    findings = None
    if count_json:
        try:
            findings = len(json.loads(report["stdout"]))
        except ValueError:
            findings = None
    return Measure(name, wall, report["cpu"], report["rss_mb"], findings)


def peer_python(env_dir: Path, peer: str) -> Path | None:
    """A virtualenv with the peer installed (created on first use)."""
    venv = env_dir / peer
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", PEERS[peer]], capture_output=True, text=True
        )
        if install.returncode != 0:
            sys.stderr.write(f"cannot install {PEERS[peer]}: {install.stderr[-500:]}\n")
            shutil.rmtree(venv, ignore_errors=True)
            return None
    return python


def gradlint_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gradlint", "check", *args]


def run(args: argparse.Namespace) -> list[Measure]:
    work = Path(tempfile.mkdtemp(prefix="gradlint-bench-"))
    try:
        if args.git_dir:
            git_dir = Path(args.git_dir)
            name = git_dir.parent.name if git_dir.name in ("repo", ".git") else git_dir.stem
            corpus = git_dir
            tree = work / "corpus" / name
            commit = materialize(git_dir, args.rev, tree)
            print(f"git corpus: {git_dir} at commit {commit}")
        else:
            corpus = resolve_corpus(args.corpus)
            # Keep the package's own name: gradlint treats torch's own source as torch's
            # (GL002 exempts it), which it recognises by the top-level package name.
            tree = work / "corpus" / corpus.name
            shutil.copytree(corpus, tree, ignore=shutil.ignore_patterns("__pycache__"))
        files = python_files(tree)
        size_mb = sum(p.stat().st_size for p in files) / 1e6
        print(f"corpus: {corpus} ({len(files)} files, {size_mb:.1f} MB), copied to {tree}")
        sources = [p.read_bytes() for p in files]
        results = [in_process("read every file", lambda: [p.read_bytes() for p in files])]

        def parse_ast() -> None:
            for data in sources:
                try:
                    ast.parse(data)
                except (SyntaxError, ValueError):
                    pass

        results.append(in_process("ast.parse", parse_ast))

        import libcst

        def parse_cst() -> None:
            for data in sources:
                try:
                    libcst.parse_module(data)
                except Exception:
                    pass

        results.append(in_process("libcst.parse_module (floor)", parse_cst))
        # Byte-compile gradlint once, as an install does, so no run below pays for it.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(_package_dir("gradlint"))], capture_output=True, check=False)
        common = ["--format", "json", "--exit-zero"]
        select = ["--select", args.select] if args.select else []
        results.append(in_subprocess("gradlint cold -j1", gradlint_command("--no-cache", "-j1", *common, *select, "corpus"), work, count_json=True))
        results.append(in_subprocess("gradlint cold -j default", gradlint_command("--no-cache", *common, *select, "corpus"), work, count_json=True))
        shutil.rmtree(work / ".gradlint_cache", ignore_errors=True)
        in_subprocess("(fill cache)", gradlint_command(*common, *select, "corpus"), work)
        results.append(in_subprocess("gradlint warm", gradlint_command(*common, *select, "corpus"), work, count_json=True))
        touched = files[len(files) // 2]
        with open(touched, "a", encoding="utf-8") as stream:
            stream.write("\n# touched by the benchmark\n")
        results.append(in_subprocess("gradlint touched one file", gradlint_command(*common, *select, "corpus"), work, count_json=True))
        ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
        if ruff:
            results.append(in_subprocess("ruff --select ALL", [ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "--isolated", "-q", "corpus"], work))
        for measure in results:
            measure.files = len(files)

        if not args.no_peers:
            sample_dir = work / "sample"
            step = max(1, len(files) // args.sample)
            picked = files[::step][: args.sample]
            # Keep each file's place in its package (and the package's __init__ files), so
            # that every tool sees the same code gradlint sees in the full run.
            for path in picked:
                relative = path.relative_to(tree.parent)
                for parent in [*reversed(relative.parents)][1:]:
                    init = tree.parent / parent / "__init__.py"
                    if init.exists() and not (sample_dir / parent / "__init__.py").exists():
                        (sample_dir / parent).mkdir(parents=True, exist_ok=True)
                        shutil.copy(init, sample_dir / parent / "__init__.py")
                (sample_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, sample_dir / relative)
            sample = python_files(sample_dir)
            print(f"peer sample: {len(sample)} files ({sum(p.stat().st_size for p in sample) / 1e6:.1f} MB)")
            base = in_subprocess("sample: gradlint cold -j1", gradlint_command("--no-cache", "-j1", *common, *select, "sample"), work, count_json=True)
            base.files = len(sample)
            peers = [base]
            env_dir = Path(args.peer_env_dir)
            for peer in PEERS:
                python = peer_python(env_dir, peer)
                if python is None:
                    continue
                if peer == "torchfix":
                    command = [str(python.parent / "torchfix"), "--jobs", "1", "sample"]
                else:
                    command = [str(python.parent / "fixit"), "lint", "sample"]
                measure = in_subprocess(f"sample: {peer}", command, work)
                measure.files = len(sample)
                peers.append(measure)
            if ruff:
                measure = in_subprocess("sample: ruff --select ALL", [ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "--isolated", "sample"], work)
                measure.files = len(sample)
                peers.append(measure)
            results.extend(peers)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: list[Measure]) -> None:
    floor = next(m for m in results if m.name.startswith("libcst.parse_module"))
    cold = next(m for m in results if m.name == "gradlint cold -j default")
    cold1 = next(m for m in results if m.name == "gradlint cold -j1")
    print()
    print("| measurement | files | wall s | CPU s | CPU / parse floor | peak RSS MB | findings |")
    print("|---|---|---|---|---|---|---|")
    for m in results:
        ratio = m.cpu / floor.cpu if floor.cpu else float("nan")
        found = "" if m.findings is None else str(m.findings)
        print(f"| {m.name} | {m.files or ''} | {m.wall:.2f} | {m.cpu:.2f} | {ratio:.3f}x | {m.rss_mb:.0f} | {found} |")
    print()
    warm = next(m for m in results if m.name == "gradlint warm")
    touched = next(m for m in results if m.name == "gradlint touched one file")
    print(f"warm / cold CPU: {warm.cpu / cold.cpu:.3f}x   touched / cold CPU: {touched.cpu / cold.cpu:.3f}x")
    print(f"-j default wall / -j1 wall: {cold.wall / cold1.wall:.2f}x")
    print(f"cold -j1 CPU / libcst parse CPU: {cold1.cpu / floor.cpu:.3f}x (target <= 0.3x)")
    ruff_all = next((m for m in results if m.name == "ruff --select ALL"), None)
    if ruff_all is not None and ruff_all.cpu:
        print(f"cold -j1 CPU / ruff --select ALL CPU: {cold1.cpu / ruff_all.cpu:.2f}x (target <= 3x)")
    counts = {m.findings for m in results if m.name.startswith("gradlint") and m.findings is not None}
    print(f"gradlint runs agree on the findings count: {len(counts) == 1} ({sorted(counts)})")
    base = next((m for m in results if m.name == "sample: gradlint cold -j1"), None)
    if base is not None:
        for m in results:
            if m.name.startswith("sample:") and m is not base:
                print(f"{m.name[8:]} CPU / gradlint CPU on the same sample: {m.cpu / base.cpu:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="torch", help="'torch', 'lightning' or a directory")
    parser.add_argument("--git-dir", default="", help="a git repository: check the .py files of --rev")
    parser.add_argument("--rev", default="HEAD", help="the commit of --git-dir to materialize")
    parser.add_argument("--select", default="", help="passed to gradlint --select (default: all rules)")
    parser.add_argument("--no-peers", action="store_true", help="skip TorchFix, Fixit and ruff")
    parser.add_argument("--sample", type=int, default=150, help="files in the peer sample")
    parser.add_argument(
        "--peer-env-dir",
        default=os.path.join(tempfile.gettempdir(), "gradlint-bench-peers"),
        help="where the peers' virtualenvs are created (kept between runs)",
    )
    report(run(parser.parse_args()))


if __name__ == "__main__":
    main()
