"""The ``gradlint`` command line (exit codes: 0 clean, 1 findings, 2 usage/config/internal)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from gradlint import __version__
from gradlint.cache import NotACache
from gradlint.cache import clear as clear_cache
from gradlint.config import (
    ConfigError,
    Settings,
    find_config_from,
    load_settings,
    parse_override,
    registry_snapshots_enabled,
    with_overrides,
)
from gradlint.discovery import DiscoveryError, discover, is_excluded
from gradlint.reporters import ALIASES, DEFAULT_FORMAT, FORMAT_ENV, FORMATS
from gradlint.findings import PARSE_ERROR_CODE
from gradlint.registry import (
    PARSE_ERROR_SUMMARY,
    UNUSED_NOQA_CODE,
    UNUSED_NOQA_NAME,
    UNUSED_NOQA_SUMMARY,
    rule_metas,
)
from gradlint.runner import RunOptions, RunResult, run_paths, run_source
from gradlint.positions import split_lines

# Modules that import libcst (the rules, fixes, rule docs) are imported where they are used,
# so that a check answered from the cache starts in a fraction of the time.

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageFailure(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


def _split_codes(values: Sequence[str]) -> list[str]:
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


class SettingsResolver:
    """The settings that govern each directory: its nearest config file (ruff's hierarchy),
    or the one ``--config FILE`` names for everything, with ``--config KEY=VALUE`` overrides
    and the command line's selection applied on top."""

    def __init__(
        self,
        config: Sequence[str] = (),
        *,
        select: Sequence[str] = (),
        extend_select: Sequence[str] = (),
        ignore: Sequence[str] = (),
    ) -> None:
        self.explicit: Path | None = None
        self.overrides: dict[str, object] = {}
        for value in config:
            path = Path(value)
            if path.is_file():
                if self.explicit is not None:
                    raise ConfigError("--config: only one config file may be given")
                self.explicit = path
            elif "=" in value:
                self.overrides.update(parse_override(value))
            else:
                raise ConfigError(f"config file not found: {value}")
        self.selection = {"select": select, "extend_select": extend_select, "ignore": ignore}
        self._by_config: dict[Path | None, Settings] = {}
        self._by_directory: dict[str, Settings] = {}
        self._configs: dict[Path, Path | None] = {}

    def _load(self, config_file: Path | None, start: Path) -> Settings:
        key = config_file.resolve() if config_file is not None else None
        if key not in self._by_config:
            settings = load_settings(
                config_file, self.overrides, explicit=config_file is self.explicit and config_file is not None,
                start=start,
            )
            self._by_config[key] = with_overrides(settings, **self.selection)  # type: ignore[arg-type]
        return self._by_config[key]

    def for_directory(self, directory: str) -> Settings:
        """The settings for files in ``directory`` (an absolute path)."""
        found = self._by_directory.get(directory)
        if found is None:
            if self.explicit is not None:
                found = self._load(self.explicit, self.explicit.parent)
            else:
                start = Path(directory)
                while not start.exists() and start.parent != start:
                    start = start.parent
                found = self._load(find_config_from(start.resolve(), self._configs), Path.cwd())
            self._by_directory[directory] = found
        return found

    def for_file(self, path: str) -> Settings:
        return self.for_directory(os.path.dirname(os.path.abspath(path)))

    def for_paths(self, paths: Sequence[str]) -> Settings:
        """The settings of the first path (what ``--show-settings`` shows, as ruff does)."""
        first = os.path.abspath(paths[0]) if paths and paths[0] != "-" else os.getcwd()
        return self.for_directory(first if os.path.isdir(first) else os.path.dirname(first))


def _settings(paths: Sequence[str], config: str | None, stdin_filename: str | None) -> Settings:
    resolver = SettingsResolver((config,) if config else ())
    anchor = stdin_filename if tuple(paths) == ("-",) and stdin_filename else (paths[0] if paths else ".")
    return resolver.for_paths([anchor])


def _default_format() -> str:
    value = os.environ.get(FORMAT_ENV, DEFAULT_FORMAT)
    return value if value in FORMATS or value in ALIASES else DEFAULT_FORMAT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gradlint")
def main() -> None:
    """gradlint: find and fix hand-rolled gradient norms, unguarded private torch API,
    hidden device defaults and duplicated tuning constants."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix/--no-fix", default=False, help="Apply fixes (safe ones; unsafe ones too with --unsafe-fixes).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (and show) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print fixes as a unified diff; write nothing.")
@click.option("--show-fixes", is_flag=True, help="List the fixes applied (with --fix) or available.")
@click.option("-e", "--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when any fix was applied, even if nothing remains.")
@click.option("--select", multiple=True, help="Codes or prefixes to enable (comma-separated; replaces config).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable in addition (even ones the config ignores).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option(
    "--output-format",
    "--format",
    "output_format",
    type=click.Choice([*FORMATS, *ALIASES]),
    default=None,
    help=f"Output format [default: {DEFAULT_FORMAT}, or ${FORMAT_ENV}] (--format is an alias; text = concise).",
)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of each finding.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: GLxxx` to every line with a finding.")
@click.option("--force-exclude", is_flag=True, help="Apply excludes and ignore files even to paths named explicitly.")
@click.option("--show-settings", is_flag=True, help="Print the settings for the first path and exit.")
@click.option("--show-files", is_flag=True, help="Print the files that would be checked and exit.")
@click.option("-q", "--quiet", is_flag=True, help="Print the findings only (no summary).")
@click.option("-s", "--silent", is_flag=True, help="Print nothing; only the exit code tells.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPU count).")
@click.option("-n", "--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--stdin-filename", help="Path to report (and to match config against) for `-`.")
@click.option(
    "--config",
    multiple=True,
    help="A config file (pyproject.toml or gradlint.toml) for every path, or a `KEY = VALUE` override (TOML).",
)
def check(paths: tuple[str, ...], **flags: object) -> None:
    """Check PATHS (default: the current directory); `-` reads standard input."""
    paths = paths or (".",)
    try:
        code = _check(paths, **flags)  # type: ignore[arg-type]
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


def _merge(runs: list[RunResult]) -> RunResult:
    if len(runs) == 1:
        return runs[0]
    results = sorted((r for run in runs for r in run.results), key=lambda r: r.path)
    findings = sorted((f for run in runs for f in run.findings), key=lambda f: f.sort_key)
    return RunResult(results, findings, [error for run in runs for error in run.errors])


def _show_settings(settings: Settings, files: Sequence[str]) -> str:
    lines = [f"Resolved settings for: {files[0] if files else '.'}"]
    lines.append(f"Settings path: {settings.config_file or '(none: defaults)'}")
    lines.append(f"root = {settings.root!r}")
    lines.append(f"enabled = {sorted(settings.enabled_codes)}")
    for name in ("select", "ignore", "cli_select", "cli_extend_select", "cli_ignore", "per_file_ignores",
                 "exclude", "extend_exclude", "respect_gitignore", "max_file_size", "cache_dir"):
        lines.append(f"{name.replace('_', '-')} = {getattr(settings, name)!r}")
    for key, value in sorted(settings.options.items()):
        lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


def _check(
    paths: tuple[str, ...],
    *,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    show_fixes: bool,
    exit_zero: bool,
    exit_non_zero_on_fix: bool,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str | None,
    output_file: str | None,
    statistics: bool,
    add_noqa: bool,
    force_exclude: bool,
    show_settings: bool,
    show_files: bool,
    quiet: bool,
    silent: bool,
    jobs: int | None,
    no_cache: bool,
    stdin_filename: str | None,
    config: tuple[str, ...],
) -> int:
    from gradlint.reporters import ReportContext, reporter
    from gradlint.reporters.text import statistics as render_statistics
    from gradlint.reporters.text import statistics_json, summary

    output_format = ALIASES.get(output_format or _default_format(), output_format or _default_format())
    if "-" in paths and len(paths) > 1:
        raise UsageFailure("`-` (standard input) cannot be combined with other paths")
    if add_noqa and (fix or diff):
        raise UsageFailure("--add-noqa cannot be combined with --fix or --diff")
    registry_snapshots_enabled(not no_cache)
    resolver = SettingsResolver(
        config, select=_split_codes(select), extend_select=_split_codes(extend_select), ignore=_split_codes(ignore)
    )
    from_stdin = paths == ("-",)
    anchor = [stdin_filename] if from_stdin and stdin_filename else list(paths)
    first = resolver.for_paths(anchor if not from_stdin or stdin_filename else ["."])
    options = RunOptions(
        fix=fix,
        unsafe_fixes=unsafe_fixes,
        diff=diff,
        jobs=jobs,
        use_cache=not no_cache,
        want_edits=output_format in ("json", "json-lines", "sarif", "rdjson") or show_fixes,
    )
    warnings: list[str] = []
    sources: dict[str, str] = {}
    if from_stdin:
        if show_files:
            click.echo(stdin_filename or "-")
            return EXIT_CLEAN
        if show_settings:
            click.echo(_show_settings(first, [stdin_filename or "-"]), nl=False)
            return EXIT_CLEAN
        if force_exclude and stdin_filename and is_excluded(stdin_filename, first):
            # ruff: an excluded file given by name is passed through unchanged.
            if fix:
                sys.stdout.buffer.write(_read_stdin(first.max_file_size))
            return EXIT_CLEAN
        data = _read_stdin(first.max_file_size)
        run = run_source(data, stdin_filename or "-", first, options)
        groups = [(first, run)]
        try:
            sources[stdin_filename or "-"] = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    else:
        files = discover(
            paths, first, force_exclude=force_exclude, warnings=warnings, settings_for=resolver.for_directory
        )
        if show_files:
            click.echo("".join(os.path.abspath(f) + "\n" for f in files), nl=False)
            return EXIT_CLEAN
        if show_settings:
            settings = resolver.for_file(files[0]) if files else first
            click.echo(_show_settings(settings, files), nl=False)
            return EXIT_CLEAN
        by_settings: dict[int, tuple[Settings, list[str]]] = {}
        for path in files:
            settings = resolver.for_file(path)
            by_settings.setdefault(id(settings), (settings, []))[1].append(path)
        if show_fixes and fix:
            before = {
                id(s): run_paths(group, s, replace(options, fix=False, diff=False)) for s, group in by_settings.values()
            }
        groups = [(s, run_paths(group, s, options)) for s, group in by_settings.values()]
    if add_noqa:
        from gradlint.suppression import add_noqa as insert_noqa

        added = insert_noqa(_merge([run for _, run in groups]).findings)
        if not silent:
            click.echo(f"Added {added} noqa directive{'s' * (added != 1)}.", err=True)
        return EXIT_CLEAN
    run = _merge([run for _, run in groups])
    for warning in [*warnings, *run.warnings]:
        if not silent:
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
        from gradlint.project_fixes import ProjectFixPlan, plan_project_fixes

        project = ProjectFixPlan()
        for settings, group_run in groups:
            plan = plan_project_fixes(group_run, settings, unsafe_fixes)
            for error in plan.errors:
                click.echo(f"warning: {error}", err=True)
            project.texts.update(plan.texts)
            project.originals.update(plan.originals)
            project.encodings.update(plan.encodings)
            project.created.extend(plan.created)
            project.homes.extend(plan.homes)
            project.fixed |= plan.fixed
            project.errors.extend(plan.errors)
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
        if output_format in ("full", "concise") and not silent:
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

            written = write_fixes(run, project, resolver.for_file, options, unfiltered)
            write_errors = written.errors
            fixed_count -= written.unwritten

    for error in write_errors:
        click.echo(f"gradlint: error: {error}", err=True)
    context = ReportContext(root=first.root, unsafe_fixes=unsafe_fixes, show_fixes=show_fixes, sources=sources)
    human = output_format in ("full", "concise")
    parts: list[str] = []
    if statistics:
        parts.append(statistics_json(run, context) if output_format == "json" else render_statistics(run, context))
    else:
        parts.append(reporter(output_format)(run, context))
    if human and not quiet and not statistics:
        if show_fixes and fix and not from_stdin:
            parts.append(_fixes_summary(before, groups))  # type: ignore[possibly-undefined]
        parts.append(summary(run, fixed=fixed_count, fixing=fix, unsafe=unsafe_fixes))
    report = "".join(parts)
    if output_file is not None:
        directory = os.path.dirname(os.path.abspath(output_file))
        os.makedirs(directory, exist_ok=True)
        with open(output_file, "w", encoding="utf-8") as stream:
            stream.write(report)
    elif not silent:
        if fix and from_stdin:
            click.echo(report, nl=False, err=True)
        else:
            click.echo(report, nl=False)
    if run.internal_errors or write_errors:
        return EXIT_ERROR
    if exit_non_zero_on_fix and (fixed_count or changed):
        return EXIT_FINDINGS
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


def _fixes_summary(before: dict[int, RunResult], groups: list[tuple[Settings, RunResult]]) -> str:
    """ruff's ``--show-fixes`` list: per file, how many findings of each code were fixed."""
    from collections import Counter

    from gradlint.reporters import rule_name

    fixed: dict[str, Counter[str]] = {}
    for settings, after in groups:
        old = Counter((f.path, f.code) for f in before[id(settings)].findings)
        new = Counter((f.path, f.code) for f in after.findings)
        for (path, code), count in (old - new).items():
            fixed.setdefault(path, Counter())[code] += count
    if not fixed:
        return ""
    total = sum(sum(c.values()) for c in fixed.values())
    lines = [f"Fixed {total} error{'s' * (total != 1)}:"]
    for path in sorted(fixed):
        lines.append(f"- {path}:")
        for code, count in sorted(fixed[path].items()):
            lines.append(f"    {count} \u00d7 {code} ({rule_name(code)})")
    return "\n".join(lines) + "\n\n"


def _unified_diff(path: str, old: str, new: str) -> str:
    import difflib  # only --diff pays for it

    lines = difflib.unified_diff(
        split_lines(old, keepends=True), split_lines(new, keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@main.command()
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def rules(output_format: str) -> None:
    """List every rule."""
    rows = [(PARSE_ERROR_CODE, "parse-error", PARSE_ERROR_SUMMARY, False)]
    rows += [(meta.code, meta.name, meta.summary, meta.fixable) for meta in rule_metas()]
    rows += [(UNUSED_NOQA_CODE, UNUSED_NOQA_NAME, UNUSED_NOQA_SUMMARY, True)]
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
        from gradlint.docs import PARSE_ERROR_DOC

        click.echo(PARSE_ERROR_DOC, nl=False)
        return
    if code.upper() == UNUSED_NOQA_CODE:
        from gradlint.docs import UNUSED_NOQA_DOC

        click.echo(UNUSED_NOQA_DOC, nl=False)
        return
    from gradlint.docs import rule_doc
    from gradlint.rules import rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        click.echo(f"gradlint: error: unknown rule code `{code}` (see `gradlint rules`)", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(rule_doc(rule), nl=False)


@main.command()
@click.option("--config", help="Use this config file (pyproject.toml or gradlint.toml).")
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


@main.command()
def server() -> None:
    """Run the Language Server over stdio (needs the `lsp` extra: pygls, lsprotocol)."""
    try:
        from gradlint.lsp_server import main as serve
    except ImportError as error:
        click.echo(f"gradlint: error: the language server needs the `lsp` extra ({error}); "
                   "install it with: pip install 'gradlint[lsp]' (or -e '.[lsp]' from a checkout)", err=True)
        sys.exit(EXIT_ERROR)
    serve()
