"""GL003 fixes keep their callers working: every fixed function is called the way its callers
call it (generators, lists, ``*args``, a dict passed on as ``**params``, a module moved through
``self``), on the original and on the fixed code, with and without the runtime.

Each ``fixtures/fixes/gl003/*.in.py`` declares ``CALLERS``: the qualified name of every function
the fix changes -> ``caller(mod, model)``, which calls it as real callers do.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from gradlint.config import Settings
from gradlint.fileinfo import describe_file
from gradlint.engine import Engine

torch = pytest.importorskip("torch")
pytest.importorskip("gradlint_runtime")

ROOT = Path(__file__).resolve().parents[1]
PAIRS = sorted((ROOT / "fixtures" / "fixes" / "gl003").glob("*.in.py"))


def _load_text(text: str, name: str, tmp_path: Path) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and annotations look the module up
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3))
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    return model


def _same(after: object, before: object) -> None:
    if isinstance(before, torch.Tensor):
        assert isinstance(after, torch.Tensor) and after.device == before.device
        torch.testing.assert_close(after, before)
    elif isinstance(before, dict):
        assert isinstance(after, dict) and after.keys() == before.keys()
        for key in before:
            _same(after[key], before[key])
    elif isinstance(before, (list, tuple)):
        assert type(after) is type(before) and len(after) == len(before)
        for left, right in zip(after, before):
            _same(left, right)
    else:
        assert after == before


def _fixed(text: str, path: Path, runtime: bool) -> str:
    options = {"runtime-available": runtime}
    engine = Engine(replace(Settings(), select=("GL003",), options=options))
    fixed, applied, errors = engine.fix_text(text, describe_file(str(path)), unsafe=True)
    assert not errors and applied
    return fixed


def _changed_functions(before: str, after: str) -> set[str]:
    """Qualified names of the functions whose signature the fix changed."""

    def signatures(text: str) -> dict[str, str]:
        found = {}

        def walk(body: list[ast.stmt], prefix: str) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef):
                    walk(node.body, f"{prefix}{node.name}.")
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[prefix + node.name] = ast.dump(node.args)

        walk(ast.parse(text).body, "")
        return found

    old, new = signatures(before), signatures(after)
    return {name for name in old if new.get(name) != old[name]}


@pytest.mark.parametrize("runtime", [False, True], ids=["self-contained", "runtime"])
@pytest.mark.parametrize("source", PAIRS, ids=lambda p: p.name)
def test_fixed_functions_serve_their_callers(source: Path, runtime: bool, tmp_path: Path) -> None:
    text = source.read_text(encoding="utf-8")
    fixed = _fixed(text, source, runtime)
    assert ("gradlint_runtime" in fixed) == runtime
    original = _load_text(text, f"gl003_original_{source.stem.replace('.', '_')}", tmp_path)
    changed = _load_text(fixed, f"gl003_fixed_{source.stem.replace('.', '_')}_{runtime}", tmp_path)
    # Every function the fix touches has a caller, and every caller's function was fixed.
    assert set(original.CALLERS) == _changed_functions(text, fixed)
    for name, caller in original.CALLERS.items():
        before = caller(original, _model())
        after = changed.CALLERS[name](changed, _model())
        _same(after, before)


def test_a_dict_passed_on_as_kwargs_is_never_listed() -> None:
    source = ROOT / "fixtures" / "fixes" / "gl003" / "flow.in.py"
    for runtime in (False, True):
        fixed = _fixed(source.read_text(encoding="utf-8"), source, runtime)
        assert "list(params)" not in fixed.split("def optimizer_state", 1)[1].split("\ndef ", 1)[0]
        assert "list(options)" not in fixed


def test_unannotated_collections_are_listed_only_when_they_are_iterators(tmp_path: Path) -> None:
    source = ROOT / "fixtures" / "fixes" / "gl003" / "collect.in.py"
    fixed = _load_text(_fixed(source.read_text(encoding="utf-8"), source, True), "gl003_iter_check", tmp_path)
    model = _model()
    params = list(model.parameters())
    generator = (p for p in params)
    torch.testing.assert_close(fixed.params_collect(generator), fixed.params_collect(params))
    assert next(generator, None) is None  # consumed once, by the function itself, as before


def test_nothing_to_infer_from_reports_without_a_fix() -> None:
    path = ROOT / "fixtures" / "gl003" / "flow_positives.py"
    engine = Engine(replace(Settings(), select=("GL003",)))
    findings = engine.check_text(path.read_text(encoding="utf-8"), describe_file(str(path))).findings
    lines = path.read_text(encoding="utf-8").splitlines()
    unfixed = {lines[f.location.row - 1].strip().split("(")[0] for f in findings if f.fix is None}
    # An optional tensor, a buffer the method itself registers, an iterator the function steps.
    assert unfixed == {"def blend", "def __init__", "def first_then_rest"}
    for finding in findings:
        assert (finding.fix is None) == ("make it a required parameter" in finding.message)
        assert len(finding.message) <= 80


def _meta_model() -> torch.nn.Module:
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3)).to("meta")
    for p in model.parameters():
        p.grad = torch.empty_like(p)
    return model


@pytest.mark.parametrize("runtime", [False, True], ids=["self-contained", "runtime"])
def test_fixed_functions_follow_the_inputs_device(runtime: bool, tmp_path: Path) -> None:
    """Without a GPU: inputs on the ``meta`` device stand for "not the literal default's
    device". The fixed functions put their results where the inputs are; the originals, called
    the same way, still use the literal default (and fail to copy out of meta)."""
    fixes = ROOT / "fixtures" / "fixes" / "gl003"
    loaded = {}
    for stem in ("collect", "flow"):
        source = fixes / f"{stem}.in.py"
        text = source.read_text(encoding="utf-8")
        loaded[stem] = (
            _load_text(text, f"gl003_meta_original_{stem}", tmp_path),
            _load_text(_fixed(text, source, runtime), f"gl003_meta_fixed_{stem}_{runtime}", tmp_path),
        )
    calls = {
        "params_collect": lambda mod, m: mod.params_collect(m.parameters()),
        "params_iterable": lambda mod, m: mod.params_iterable(p for p in m.parameters()),
        "model_norms": lambda mod, m: mod.model_norms(m),
        "scaled_loss": lambda mod, m: mod.scaled_loss(next(m.parameters()).sum()),
        "clip_state": lambda mod, m: mod.clip_state(m.parameters(), eps=1e-6)["total"],
        "optimizer_state": lambda mod, m: next(iter(mod.optimizer_state(m, {"lr": 0.1})["state"].values())),
        "iterator_norms": lambda mod, m: mod.iterator_norms(p.grad for p in m.parameters()),
        "star_norms": lambda mod, m: mod.star_norms(*[p.grad for p in m.parameters()]),
        "RotaryTable.table": lambda mod, m: mod.RotaryTable().to("meta").table(5),
        "Aligner.__init__": lambda mod, m: mod.Aligner(m, ["a"]).score(torch.ones(2, 5)),
    }
    followed = set()
    for name, call in calls.items():
        stem = "collect" if name in ("params_collect", "params_iterable", "model_norms") else "flow"
        original, fixed = loaded[stem]
        result = call(fixed, _meta_model())
        assert result.device.type == "meta", name
        try:
            before = call(original, _meta_model())
        except (NotImplementedError, RuntimeError):
            continue  # the literal default cannot even hold the result
        if before.device.type != "cpu":
            followed.add(name)
    # A 0-dim CPU tensor acts as a scalar next to tensors on another device, so the original
    # scaled_loss already followed its input; every other original stayed on the default.
    assert followed == {"scaled_loss"}
