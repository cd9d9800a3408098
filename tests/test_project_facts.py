"""Fix policy facts computed from the project's own metadata: can it import the runtime, and
which Python must fixed code run on (``runtime-available`` and ``target-version``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import Project, run_cli
from gradlint.config import ConfigError, find_config_from, load_settings


def _facts(project: Project) -> tuple[bool, str]:
    config = find_config_from(project.root)
    settings = load_settings(config, start=project.root)
    return settings.options["runtime-available"], settings.options["target-version"]


@pytest.mark.parametrize(
    ("relative", "content"),
    [
        ("pyproject.toml", '[project]\nname = "p"\ndependencies = ["torch>=2", "gradlint-runtime>=0.1"]\n'),
        ("pyproject.toml", '[project]\nname = "p"\n[project.optional-dependencies]\ntrain = ["Gradlint_Runtime"]\n'),
        ("requirements.txt", "torch==2.13.0\ngradlint_runtime @ git+https://example.invalid/g.git#subdirectory=runtime\n"),
        ("requirements-dev.txt", "# tools\npytest\ngradlint-runtime[extra]; python_version >= '3.9'\n"),
        ("requirements/train.txt", "gradlint.runtime\n"),
        ("setup.cfg", "[options]\ninstall_requires =\n    torch\n    gradlint-runtime>=0.1\n"),
        ("setup.cfg", "[metadata]\nname = p\n[options.extras_require]\nfast = gradlint-runtime\n"),
    ],
)
def test_runtime_declared_in_dependencies(project: Project, relative: str, content: str) -> None:
    project.write(relative, content)
    project.write("src/train.py", "x = 1\n")
    assert _facts(project)[0] is True


@pytest.mark.parametrize(
    ("relative", "content"),
    [
        ("pyproject.toml", '[project]\nname = "p"\ndependencies = ["torch>=2", "gradlint>=0.1"]\n'),
        ("requirements.txt", "torch\n# gradlint-runtime would be nice\ngradlint-runtime-extras\n"),
        ("setup.cfg", "[options]\ninstall_requires =\n    torch\n"),
    ],
)
def test_runtime_not_declared(project: Project, relative: str, content: str) -> None:
    project.write(relative, content)
    assert _facts(project)[0] is False


def test_no_metadata_at_all_means_no_runtime(project: Project) -> None:
    assert _facts(project) == (False, "py39")


def test_runtime_module_set_explicitly_counts_as_available(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nname = "p"\n[tool.gradlint]\nruntime-module = "myproj.rt"\n')
    assert _facts(project)[0] is True


def test_runtime_available_can_be_set_explicitly(project: Project) -> None:
    project.write("pyproject.toml", '[project]\ndependencies = ["gradlint-runtime"]\n[tool.gradlint]\nruntime-available = false\n')
    assert _facts(project)[0] is False


def test_metadata_is_read_from_the_project_of_a_gradlint_toml(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nrequires-python = ">=3.12"\ndependencies = ["gradlint-runtime"]\n')
    project.write("gradlint.toml", 'ignore = ["GL004"]\n')
    assert _facts(project) == (True, "py312")


@pytest.mark.parametrize(
    ("spec", "target"),
    [(">=3.10", "py310"), (">=3.8, <4", "py38"), ("~=3.11", "py311"), ("==3.12.*", "py312"), (">3.9", "py310"), ("<4", "py39")],
)
def test_target_version_from_requires_python(project: Project, spec: str, target: str) -> None:
    project.write("pyproject.toml", f'[project]\nname = "p"\nrequires-python = "{spec}"\n')
    assert _facts(project)[1] == target


def test_target_version_set_explicitly_wins(project: Project) -> None:
    project.write("pyproject.toml", '[project]\nrequires-python = ">=3.9"\n[tool.gradlint]\ntarget-version = "py311"\n')
    assert _facts(project)[1] == "py311"


@pytest.mark.parametrize("body", ['target-version = "3.10"\n', "target-version = 310\n", 'runtime-available = "yes"\n'])
def test_bad_fact_values_name_the_key(project: Project, body: str) -> None:
    project.config(body)
    project.write("a.py", "x = 1\n")
    result = run_cli("check", ".")
    assert result.code == 2
    assert body.split(" ")[0] in result.stderr


def test_facts_reach_the_rules_options(project: Project, tmp_path: Path) -> None:
    """A rule that declares the shared options receives the computed values."""
    from gradlint.options import RUNTIME_AVAILABLE_OPTION, TARGET_VERSION_OPTION
    from gradlint.rules import all_rules

    project.write("pyproject.toml", '[project]\nrequires-python = ">=3.11"\ndependencies = ["torch"]\n')
    settings = load_settings(None, start=project.root)
    rule_class = all_rules()[0]

    class Probe(rule_class):  # type: ignore[misc, valid-type]
        OPTIONS = (*rule_class.OPTIONS, RUNTIME_AVAILABLE_OPTION, TARGET_VERSION_OPTION)

    probe = Probe(settings.options)
    assert probe.options["runtime-available"] is False
    assert probe.options["target-version"] == "py311"


def test_facts_change_the_cache_fingerprint(project: Project) -> None:
    project.write("pyproject.toml", '[project]\ndependencies = ["torch"]\n')
    without = load_settings(None, start=project.root).fingerprint()
    project.write("pyproject.toml", '[project]\ndependencies = ["torch", "gradlint-runtime"]\n')
    assert load_settings(None, start=project.root).fingerprint() != without


def test_explicit_config_without_our_table_is_an_error(project: Project) -> None:
    project.write("other.toml", "")
    project.write("pyproject.toml", '[project]\nname = "p"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.gradlint\] table"):
        load_settings(project.root / "pyproject.toml", explicit=True)
