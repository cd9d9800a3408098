"""The ``gradlint`` command line (exit codes: 0 clean, 1 findings, 2 usage/config/internal)."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from gradlint import __version__
from gradlint.cache import NotACache
from gradlint.cache import clear as clear_cache
from gradlint.config import (
    ConfigError,
    Settings,
    find_config,
    load_settings,
    registry_snapshots_enabled,
    with_overrides,
)
from gradlint.discovery import DiscoveryError, discover
from gradlint.findings import PARSE_ERROR_CODE
from gradlint.registry import PARSE_ERROR_SUMMARY, rule_metas
from gradlint.runner import RunOptions, run_paths, run_source

# Modules that import libcst (the rules, fixes, rule docs) are imported where they are used,
# so that a check answered from the cache starts in a fraction of the time.

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageFailure(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


def _split_codes(values: Sequence[str]) -> list[str]:
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _settings(paths: Sequence[str], config: str | None, stdin_filename: str | None) -> Settings:
    if config is not None:
        config_path: Path | None = Path(config)
        if not config_path.is_file():
            raise ConfigError(f"config file not found: {config}")
    else:
        anchors = [stdin_filename] if paths == ("-",) and stdin_filename else list(paths)
        config_path = find_config(anchors)
    return load_settings(config_path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gradlint")
def main() -> None:
    """gradlint: find and fix hand-rolled gradient norms, unguarded private torch API,
    hidden device defaults and duplicated tuning constants."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (and show) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print fixes as a unified diff; write nothing.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--select", multiple=True, help="Codes or prefixes to enable (comma-separated; replaces config).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable in addition.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of each finding.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPU count).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--stdin-filename", help="Path to report (and to match config against) for `-`.")
@click.option("--config", type=click.Path(dir_okay=False), help="Use this pyproject.toml.")
def check(
    paths: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    exit_zero: bool,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    statistics: bool,
    jobs: int | None,
    no_cache: bool,
    stdin_filename: str | None,
    config: str | None,
) -> None:
    """Check PATHS (default: the current directory); `-` reads standard input."""
    paths = paths or (".",)
    try:
        code = _check(
            paths, fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, exit_zero=exit_zero,
            select=_split_codes(select), extend_select=_split_codes(extend_select),
            ignore=_split_codes(ignore), output_format=output_format, statistics=statistics,
            jobs=jobs, no_cache=no_cache, stdin_filename=stdin_filename, config=config,
        )
    except (ConfigError, DiscoveryError, UsageFailure) as error:
        click.echo(f"gradlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        sys.exit(EXIT_ERROR)
    except Exception as error:  # noqa: BLE001 - any crash must still exit 2, never 0 or 1
        click.echo(f"gradlint: internal error: {type(error).__name__}: {error}", err=True)
        if os.environ.get("GRADLINT_DEBUG"):
            raise
        sys.exit(EXIT_ERROR)
    sys.exit(code)


def _check(
    paths: tuple[str, ...],
    *,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    exit_zero: bool,
    select: list[str],
    extend_select: list[str],
    ignore: list[str],
    output_format: str,
    statistics: bool,
    jobs: int | None,
    no_cache: bool,
    stdin_filename: str | None,
    config: str | None,
) -> int:
    from gradlint.reporters import REPORTERS
    from gradlint.reporters.text import statistics as render_statistics
    from gradlint.reporters.text import summary

    if "-" in paths and len(paths) > 1:
        raise UsageFailure("`-` (standard input) cannot be combined with other paths")
    registry_snapshots_enabled(not no_cache)
    settings = _settings(paths, config, stdin_filename)
    settings = with_overrides(settings, select=select, extend_select=extend_select, ignore=ignore)
    options = RunOptions(
        fix=fix,
        unsafe_fixes=unsafe_fixes,
        diff=diff,
        jobs=jobs,
        use_cache=not no_cache,
        want_edits=output_format in ("json", "sarif"),
    )
    from_stdin = paths == ("-",)
    if from_stdin:
        data = _read_stdin(settings.max_file_size)
        run = run_source(data, stdin_filename or "-", settings, options)
    else:
        files = discover(paths, settings)
        run = run_paths(files, settings, options)
    for warning in run.warnings:
        click.echo(f"warning: {warning}", err=True)
    # The other files were checked and are reported, but the run is no clean verdict (exit 2).
    for error in run.internal_errors:
        click.echo(f"gradlint: error: {error}", err=True)

    changed = [result for result in run.results if result.fixed is not None]
    write_errors: list[str] = []
    fixed_count = sum(result.fixed_count for result in changed)
    project = None
    unfiltered = list(run.findings)
    if (fix or diff) and not from_stdin:
        from gradlint.project_fixes import plan_project_fixes

        project = plan_project_fixes(run, settings, unsafe_fixes)
        for error in project.errors:
            click.echo(f"warning: {error}", err=True)
        fixed_count += len(project.fixed)
        run.findings = [
            f for f in run.findings if (f.path, f.location.row, f.location.column) not in project.fixed
        ]
    if diff:
        for result in changed:
            if project is None or result.path not in project.texts:
                click.echo(_unified_diff(result.path, result.original or "", result.fixed or ""), nl=False)
        for path, text in sorted((project.texts if project else {}).items()):
            original = next((r.original for r in changed if r.path == path), None)
            original = project.originals[path] if original is None else original  # type: ignore[union-attr]
            click.echo(_unified_diff(path, original, text), nl=False)
        if output_format == "text":
            click.echo(f"Would fix {fixed_count} error{'s' * (fixed_count != 1)}.", err=True)
        if run.internal_errors:
            return EXIT_ERROR
        return EXIT_CLEAN if exit_zero or not (changed or (project and project.texts)) else EXIT_FINDINGS
    if fix:
        if from_stdin:
            # The fixed source goes to stdout in the file's own encoding; findings to stderr.
            result = changed[0] if changed else None
            output = data if result is None else (result.fixed or "").encode(result.encoding)
            sys.stdout.flush()
            sys.stdout.buffer.write(output)
            sys.stdout.buffer.flush()
        else:
            from gradlint.writing import write_fixes

            written = write_fixes(run, project, settings, options, unfiltered)
            write_errors = written.errors
            fixed_count -= written.unwritten

    for error in write_errors:
        click.echo(f"gradlint: error: {error}", err=True)
    out = click.echo if not (fix and from_stdin) else (lambda text, nl=True: click.echo(text, nl=nl, err=True))
    if statistics:
        out(render_statistics(run), nl=False)
    elif output_format == "text":
        out(REPORTERS["text"](run), nl=False)
        out(summary(run, fixed=fixed_count, fixing=fix, unsafe=unsafe_fixes), nl=False)
    else:
        out(REPORTERS[output_format](run), nl=False)
    if run.internal_errors or write_errors:
        return EXIT_ERROR
    if exit_zero or not run.findings:
        return EXIT_CLEAN
    return EXIT_FINDINGS


def _read_stdin(limit: int) -> bytes:
    """All of standard input (at most ``limit`` bytes), or a usage error that says why not."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise UsageFailure("`-`: standard input is closed")
    try:
        data = stream.read(limit + 1)
    except (OSError, ValueError) as error:
        raise UsageFailure(f"`-`: cannot read standard input: {error}") from None
    if len(data) > limit:
        raise UsageFailure(f"`-`: standard input is larger than max-file-size ({limit} bytes)")
    return data


def _unified_diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@main.command()
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def rules(output_format: str) -> None:
    """List every rule."""
    rows = [(PARSE_ERROR_CODE, "parse-error", PARSE_ERROR_SUMMARY, False)]
    rows += [(meta.code, meta.name, meta.summary, meta.fixable) for meta in rule_metas()]
    if output_format == "json":
        click.echo(json.dumps([
            {"code": code, "name": name, "summary": summary, "fixable": fixable}
            for code, name, summary, fixable in rows
        ], indent=2))
        return
    for code, name, summary, fixable in rows:
        click.echo(f"{code}  {name:<28} {'[*]' if fixable else '   '} {summary}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation and examples of rule CODE."""
    if code.upper() == PARSE_ERROR_CODE:
        click.echo(f"# {PARSE_ERROR_CODE} parse-error\n\n{PARSE_ERROR_SUMMARY}: the file could not "
                   "be read, decoded or parsed, so no rule checked it. The message gives the "
                   "reason and the location.")
        return
    from gradlint.docs import rule_doc
    from gradlint.rules import rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        click.echo(f"gradlint: error: unknown rule code `{code}` (see `gradlint rules`)", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(rule_doc(rule), nl=False)


@main.command()
@click.option("--config", type=click.Path(dir_okay=False), help="Use this pyproject.toml.")
def clean(config: str | None) -> None:
    """Remove the result cache."""
    try:
        settings = _settings((".",), config, None)
    except ConfigError as error:
        click.echo(f"gradlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    directory = os.path.join(settings.root, settings.cache_dir)
    try:
        removed = clear_cache(directory)
    except NotACache as error:
        click.echo(f"gradlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if removed:
        click.echo(f"Removed {directory}")
