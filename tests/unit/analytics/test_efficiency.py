"""EF and decoupling against ``efficiency_decoupling_vectors.json``, and the steady-state gate.

The reference stream is rebuilt from the file's own ``stream_definition`` text (parsed with
``ast`` and evaluated over numpy arrays, no ``eval``), so the test follows the file.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from app.analytics import efficiency

VECTORS = "efficiency_decoupling_vectors.json"
TOLERANCE = 1e-6
DECOUPLING_KEYS: dict[str, efficiency.DecouplingMethod] = {
    "decoupling_pct_trainingpeaks_style_np": "np",
    "decoupling_pct_avg_power": "average",
    "decoupling_pct_goldencheetah_exact_split_avg_power": "goldencheetah",
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _evaluate(node: ast.AST, t: np.ndarray) -> Any:
    """Arithmetic, comparisons and ``a if c else b`` over the array ``t`` — nothing else."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, t)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name) and node.id == "t":
        return t
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, t)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, t), _evaluate(node.right, t))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        compare = _COMPARE[type(node.ops[0])]
        return compare(_evaluate(node.left, t), _evaluate(node.comparators[0], t))
    if isinstance(node, ast.IfExp):
        return np.where(_evaluate(node.test, t), _evaluate(node.body, t), _evaluate(node.orelse, t))
    raise ValueError(f"unsupported expression {ast.dump(node)}")


def _expression(text: str, t: np.ndarray) -> np.ndarray:
    value = _evaluate(ast.parse(text.strip(), mode="eval"), t)
    return np.broadcast_to(np.asarray(value, dtype=float), t.shape)


def _top_level_split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def build_stream(definition: str) -> dict[str, np.ndarray]:
    """``{"t": …, "p": …, "hr": …}`` from text such as
    ``p[t] = (A if c else B) for t < S, (…) for t >= S; hr[t] = …, t = 0..N``."""
    channels: dict[str, list[tuple[str, str | None]]] = {}
    t: np.ndarray | None = None
    for statement in definition.split(";"):
        name, body = statement.split("=", 1)
        name = name.strip().removesuffix("[t]")
        for piece in _top_level_split(body):
            if span := re.fullmatch(r"\s*t\s*=\s*(\d+)\s*\.\.\s*(\d+)\s*", piece):
                t = np.arange(int(span.group(1)), int(span.group(2)) + 1, dtype=float)
                continue
            expression, _, condition = piece.partition(" for ")
            channels.setdefault(name, []).append((expression, condition or None))
    assert t is not None, "stream definition has no t range"
    stream = {"t": t}
    for name, pieces in channels.items():
        values = np.full(t.shape, np.nan)
        for expression, condition in pieces:
            mask = _expression(condition, t).astype(bool) if condition else np.ones(t.shape, bool)
            values = np.where(mask, _expression(expression, t), values)
        assert np.isfinite(values).all(), f"{name} is not defined everywhere"
        stream[name] = values
    return stream


@pytest.fixture(scope="module")
def vectors(reference: Callable[[str], Any]) -> dict[str, Any]:
    return reference(VECTORS)


@pytest.fixture(scope="module")
def stream(vectors: dict[str, Any]) -> dict[str, np.ndarray]:
    return build_stream(vectors["stream_definition"])


def test_efficiency_factors(vectors: dict[str, Any], stream: dict[str, np.ndarray]) -> None:
    t, p, hr = stream["t"], stream["p"], stream["hr"]
    ef_np = efficiency.efficiency_factor(t, p, hr)
    ef_avg = efficiency.efficiency_factor(t, p, hr, normalized=False)
    assert ef_np == pytest.approx(vectors["ef_np_over_avg_hr"], abs=TOLERANCE)
    assert ef_avg == pytest.approx(vectors["ef_avg_power_over_avg_hr"], abs=TOLERANCE)


def test_halves(vectors: dict[str, Any], stream: dict[str, np.ndarray]) -> None:
    t, p, hr = stream["t"], stream["p"], stream["hr"]
    by_np = efficiency.aerobic_decoupling(t, p, hr, method="np")
    by_avg = efficiency.aerobic_decoupling(t, p, hr, method="average")
    assert by_np is not None and by_avg is not None
    halves = {
        "half1": (by_np.first_output, by_avg.first_output, by_avg.first_hr, by_np.first_hr),
        "half2": (by_np.second_output, by_avg.second_output, by_avg.second_hr, by_np.second_hr),
    }
    for key, (np_value, avg_power, avg_hr, np_hr) in halves.items():
        expected = vectors[key]
        assert np_value == pytest.approx(expected["np"], abs=TOLERANCE), key
        assert avg_power == pytest.approx(expected["avg_power"], abs=TOLERANCE), key
        assert avg_hr == pytest.approx(expected["avg_hr"], abs=TOLERANCE), key
        assert np_hr == avg_hr


@pytest.mark.parametrize(("key", "method"), DECOUPLING_KEYS.items())
def test_decoupling(
    vectors: dict[str, Any],
    stream: dict[str, np.ndarray],
    key: str,
    method: efficiency.DecouplingMethod,
) -> None:
    result = efficiency.aerobic_decoupling(stream["t"], stream["p"], stream["hr"], method=method)
    assert result is not None
    assert result.percent == pytest.approx(vectors[key], abs=TOLERANCE)
    assert result.decoupled == (vectors[key] > efficiency.DECOUPLING_THRESHOLD_PCT)


def test_every_decoupling_value_in_the_file_is_covered(vectors: dict[str, Any]) -> None:
    in_file = {key for key in vectors if key.startswith("decoupling_pct")}
    assert in_file == set(DECOUPLING_KEYS)


def test_the_five_percent_flag_is_strict() -> None:
    assert not efficiency.is_decoupled(5.0)
    assert efficiency.is_decoupled(5.0001)
    assert efficiency.is_decoupled(3.0, threshold_pct=2.5)


def test_pauses_are_left_out(stream: dict[str, np.ndarray]) -> None:
    t, p, hr = stream["t"].copy(), stream["p"], stream["hr"]
    before = efficiency.aerobic_decoupling(t, p, hr, method="average")
    t[t.size // 3 :] += 600.0  # a 10-minute café stop, recording paused
    after = efficiency.aerobic_decoupling(t, p, hr, method="average")
    assert before is not None and after is not None
    assert after.percent == pytest.approx(before.percent, abs=1e-9)


def test_missing_hr_gives_none() -> None:
    t = np.arange(3600.0)
    power = np.full(t.shape, 200.0)
    assert efficiency.efficiency_factor(t, power, np.zeros(t.shape)) is None
    assert efficiency.aerobic_decoupling(t, power, np.full(t.shape, np.nan)) is None


def test_constant_effort_is_coupled() -> None:
    t = np.arange(3600.0)
    result = efficiency.aerobic_decoupling(t, np.full(t.shape, 220.0), np.full(t.shape, 140.0))
    assert result is not None
    assert result.percent == pytest.approx(0.0, abs=1e-12)
    assert efficiency.efficiency_factor(t, np.full(t.shape, 220.0), np.full(t.shape, 140.0)) == (
        pytest.approx(220.0 / 140.0)
    )


def test_steady_gate_accepts_the_reference_ride(stream: dict[str, np.ndarray]) -> None:
    assert efficiency.steady_enough(stream["t"], stream["p"], stream["hr"])


def test_steady_gate_reasons() -> None:
    t = np.arange(3600.0)
    steady_power, steady_hr = np.full(t.shape, 200.0), np.full(t.shape, 140.0)
    short = slice(0, 600)
    assert efficiency.steadiness_problems(t[short], steady_power[short], steady_hr[short]) == (
        "too_short",
    )
    assert "no_heart_rate" in efficiency.steadiness_problems(t, steady_power, np.zeros(t.shape))
    sparse_hr = np.where(t % 4 == 0, 140.0, np.nan)
    assert "sparse_heart_rate" in efficiency.steadiness_problems(t, steady_power, sparse_hr)
    sprints = np.where((t // 30) % 4 == 0, 600.0, 0.0)
    assert efficiency.steadiness_problems(t, sprints, steady_hr) == ("too_variable",)
    assert "no_output" in efficiency.steadiness_problems(t, np.zeros(t.shape), steady_hr)
    few = np.arange(0.0, 3600.0, 20.0)  # one sample per 20 s: long gaps, little data
    problems = efficiency.steadiness_problems(
        few, np.full(few.shape, 200.0), np.full(few.shape, 140)
    )
    assert "too_few_samples" in problems


def _efforts(stream: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    t = np.arange(3600.0)
    paused = stream["t"].copy()
    paused[paused.size // 3 :] += 600.0
    smart = np.cumsum(np.random.default_rng(4).choice([1.0, 1.0, 2.0, 3.0, 7.0], 2400))
    return [
        (stream["t"], stream["p"], stream["hr"]),  # steady: decoupling computed
        (paused, stream["p"], stream["hr"]),  # a pause
        (smart, 200 + 20 * np.sin(smart / 300), 140 + smart / 200),  # smart recording
        (t, np.where((t // 30) % 4 == 0, 600.0, 0.0), np.full(t.shape, 140.0)),  # too variable
        (t[:600], np.full(600, 200.0), np.full(600, 140.0)),  # too short
        (t, np.full(t.shape, 200.0), np.zeros(t.shape)),  # no heart rate
    ]


def test_one_assessment_gives_what_the_three_functions_give(
    stream: dict[str, np.ndarray],
) -> None:
    """``assess`` works the grid out once for EF, the steadiness gate and decoupling."""
    for t, output, hr in _efforts(stream):
        assessed = efficiency.assess(t, output, hr)
        assert assessed.efficiency_factor == efficiency.efficiency_factor(t, output, hr)
        assert assessed.problems == efficiency.steadiness_problems(t, output, hr)
        expected = None if assessed.problems else efficiency.aerobic_decoupling(t, output, hr)
        assert assessed.decoupling == expected
    assert efficiency.assess(*_efforts(stream)[0]).decoupling is not None
