"""gradlint_runtime.constants: the one home of the health thresholds and penalties."""

from __future__ import annotations

from gradlint_runtime import constants


def test_values() -> None:
    assert constants.VANISHING_THRESHOLD == 1e-7
    assert constants.EXPLODING_THRESHOLD == 100.0
    assert constants.VANISHING_HEALTH_PENALTY == 0.5
    assert constants.EXPLODING_HEALTH_PENALTY == 0.8


def test_every_constant_is_documented_and_exported() -> None:
    doc = constants.__doc__ or ""
    for name in constants.__all__:
        assert f"``{name}``" in doc, name
    assert set(constants.__all__) == {n for n in vars(constants) if n.isupper()}
