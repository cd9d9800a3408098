"""``gradlint server``: a Language Server over stdio (pygls + lsprotocol, the ``lsp`` extra).

Diagnostics on open, change and save, with the same settings resolution as ``gradlint check``
(the nearest config above each file); code actions for each finding's fix (safe ones; unsafe
ones when the client sets ``initializationOptions.unsafeFixes``) and a "fix all" source action;
hover shows the rule's summary. Findings are ``gradlint check``'s for that one file (GL100
included); GL004 compares files, so it sees only the open file.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from gradlint import __version__
from gradlint.positions import split_lines

SOURCE = "gradlint"
FIX_ALL_KIND = "source.fixAll.gradlint"


class GradlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("gradlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.unsafe_fixes = False
        # uri -> (text version checked, findings)
        self.findings: dict[str, tuple[str, list[Any]]] = {}

    def settings_for(self, path: str) -> Any:
        from gradlint.cli import SettingsResolver

        # A fresh resolver per check: config edits apply on the next change or save.
        return SettingsResolver().for_file(path)

    def check(self, uri: str, text: str) -> list[Any]:
        """Findings as ``gradlint check`` reports them for this text (GL100 included)."""
        from gradlint.runner import RunOptions, run_source

        path = uri_to_path(uri)
        run = run_source(text.encode("utf-8"), path, self.settings_for(path), RunOptions(use_cache=False, want_edits=True))
        findings = [f for f in run.findings if f.path == path]
        self.findings[uri] = (text, findings)
        return findings

    def fix_all(self, uri: str, text: str) -> str:
        from gradlint.runner import RunOptions, run_source

        path = uri_to_path(uri)
        options = RunOptions(fix=True, unsafe_fixes=self.unsafe_fixes, use_cache=False)
        result = run_source(text.encode("utf-8"), path, self.settings_for(path), options).results[0]
        return result.fixed if result.fixed is not None else text


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else os.path.join(os.getcwd(), "untitled.py")


def _range(finding: Any) -> types.Range:
    return types.Range(
        start=types.Position(line=finding.location.row - 1, character=finding.location.column - 1),
        end=types.Position(line=finding.end_location.row - 1, character=finding.end_location.column - 1),
    )


def _diagnostic(finding: Any) -> types.Diagnostic:
    from gradlint.reporters import level, rule_url

    severity = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}.get(
        level(finding.code), types.DiagnosticSeverity.Information
    )
    url = rule_url(finding.code)
    return types.Diagnostic(
        range=_range(finding),
        message=finding.message,
        severity=severity,
        code=finding.code,
        code_description=types.CodeDescription(href=url) if url else None,
        source=SOURCE,
    )


server = GradlintServer()


def _publish(ls: GradlintServer, uri: str, text: str) -> None:
    findings = ls.check(uri, text)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=[_diagnostic(f) for f in findings])
    )


@server.feature(types.INITIALIZE)
def _initialize(ls: GradlintServer, params: types.InitializeParams) -> None:
    options = params.initialization_options or {}
    if isinstance(options, dict):
        ls.unsafe_fixes = bool(options.get("unsafeFixes", False))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: GradlintServer, params: types.DidOpenTextDocumentParams) -> None:
    _publish(ls, params.text_document.uri, params.text_document.text)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: GradlintServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    _publish(ls, params.text_document.uri, document.source)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: GradlintServer, params: types.DidSaveTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    _publish(ls, params.text_document.uri, document.source)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: GradlintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.findings.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


def _overlaps(finding: Any, wanted: types.Range) -> bool:
    span = _range(finding)
    return (span.start.line, span.start.character) <= (wanted.end.line, wanted.end.character) and (
        wanted.start.line, wanted.start.character
    ) <= (span.end.line, span.end.character)


def _text_edits(finding: Any) -> list[types.TextEdit]:
    return [
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=edit.location.row - 1, character=edit.location.column - 1),
                end=types.Position(line=edit.end_location.row - 1, character=edit.end_location.column - 1),
            ),
            new_text=edit.content,
        )
        for edit in finding.fix.edits
    ]


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
)
def _code_action(ls: GradlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    text = ls.workspace.get_text_document(uri).source
    checked = ls.findings.get(uri)
    findings = checked[1] if checked is not None and checked[0] == text else ls.check(uri, text)
    actions = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not fix.edits or not _overlaps(finding, params.range):
            continue
        if fix.applicability != "safe" and not ls.unsafe_fixes:
            continue
        actions.append(
            types.CodeAction(
                title=f"{finding.code}: {fix.message}" + ("" if fix.applicability == "safe" else " (unsafe)"),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[_diagnostic(finding)],
                edit=types.WorkspaceEdit(changes={uri: _text_edits(finding)}),
                is_preferred=fix.applicability == "safe",
            )
        )
    if any(f.fix is not None and (f.fix.applicability == "safe" or ls.unsafe_fixes) for f in findings):
        fixed = ls.fix_all(uri, text)
        if fixed != text:
            lines = split_lines(text, keepends=True)  # LSP breaks lines only at \n, \r\n and \r
            end = types.Position(line=len(lines), character=0)
            actions.append(
                types.CodeAction(
                    title="gradlint: fix all",
                    kind=FIX_ALL_KIND,
                    edit=types.WorkspaceEdit(
                        changes={uri: [types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=fixed)]}
                    ),
                )
            )
    return actions


@server.feature(types.TEXT_DOCUMENT_HOVER)
def _hover(ls: GradlintServer, params: types.HoverParams) -> types.Hover | None:
    from gradlint.reporters import rule_name, rule_url

    checked = ls.findings.get(params.text_document.uri)
    if checked is None:
        return None
    point = types.Range(start=params.position, end=params.position)
    here = [f for f in checked[1] if _overlaps(f, point)]
    if not here:
        return None
    parts = []
    for finding in here:
        summary = _summary(finding.code)
        url = rule_url(finding.code)
        link = f" ([docs]({url}))" if url else ""
        parts.append(f"**{finding.code}** `{rule_name(finding.code)}`: {summary}{link}\n\n{finding.message}")
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def _summary(code: str) -> str:
    from gradlint.registry import PARSE_ERROR_SUMMARY, UNUSED_NOQA_CODE, UNUSED_NOQA_SUMMARY, meta_by_code

    if code == UNUSED_NOQA_CODE:
        return UNUSED_NOQA_SUMMARY
    meta = meta_by_code(code)
    return meta.summary if meta is not None else PARSE_ERROR_SUMMARY


def main() -> None:
    server.start_io()
