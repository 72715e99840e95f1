"""A property-based fuzzer of suite files: malformed types, ranges, nesting and bytes, through the real CLI.

Each example is a valid suite with one field replaced by a wrong value (a bool, a string, a float where an integer
is due, inf, nan, a huge number, a deep array) or the file's bytes damaged; ``python -m harness list`` must answer
with exit 2, one line (at most 3 of output), no traceback, naming the file or the field, within the subprocess bound.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPOSITORY = Path(__file__).resolve().parents[1]
BOUND_S = 5  # each call's subprocess bound: these errors are found before torch is imported

#: (table, key) of fields whose values the fuzzer replaces, with the suite's valid value.
FIELDS = [("suite", "timeout_s"), ("suite", "time_steps"), ("suite", "warmup_steps"), ("base", "layers"),
          ("base", "channels"), ("base", "groups"), ("base", "seed"), ("base", "lr"), ("base", "scale"),
          ("base", "dropout"), ("base", "memory_efficient"), ("base", "epochs"), ("base", "num_parts")]

WRONG = st.one_of(
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet="abc019 ", max_size=5).map(lambda t: f'"{t}"'),
    st.sampled_from(["inf", "-inf", "nan", "1e300", "-1", "0", "9223372036854775807", "-9223372036854775808"]),
    st.integers(min_value=2**40, max_value=2**63 - 1).map(str),
    st.integers(min_value=1, max_value=30).map(lambda depth: "[" * depth + "1" + "]" * depth),
    st.just("{ a = 1 }"),
)


def suite_text(table: str, key: str, value: str) -> str:
    settings_ = {"timeout_s": "60", "time_steps": "3", "warmup_steps": "1"}
    cell = {"layers": "2", "channels": "4", "groups": "2", "seed": "0", "lr": "0.001", "scale": "0.01",
            "dropout": "0.0", "memory_efficient": "true", "epochs": "1", "num_parts": "2"}
    (settings_ if table == "suite" else cell)[key] = value
    lines = ["[suite]", *(f"{k} = {v}" for k, v in settings_.items()), "", "[base]", 'operator = "gcn"',
             'connection = "rev"', 'dataset = "synthetic-arxiv"', *(f"{k} = {v}" for k, v in cell.items()), "",
             "[profiles.smoke]", "[profiles.full]", ""]
    return "\n".join(lines)


def refused(path: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "harness", "list", str(path), "--device", "cpu"], cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=BOUND_S, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output and len(output.strip().splitlines()) <= 3, output
    assert str(path) in done.stderr, output
    return done


def _is_valid(key: str, value: str) -> bool:
    """The few generated values that are right for their field (a huge timeout is not; 0 warmup steps is)."""
    return (key, value) in {("warmup_steps", "0"), ("dropout", "0")} or (key == "memory_efficient" and value in
                                                                          ("true", "false"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=WRONG)
def test_a_wrong_value_is_one_line_naming_the_field(tmp_path, field, value):
    table, key = field
    if _is_valid(key, value):
        return
    path = tmp_path / "fuzzed.toml"
    path.write_text(suite_text(table, key, value))
    done = refused(path)
    assert f"{table}.{key}" in done.stderr, done.stderr


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=200), junk=st.binary(min_size=1, max_size=8))
def test_damaged_bytes_are_one_line_naming_the_file(tmp_path, position, junk):
    text = suite_text("base", "layers", "2").encode()
    damaged = text[:position] + b"\xff" + junk + text[position:]
    path = tmp_path / "damaged.toml"
    path.write_bytes(damaged)
    refused(path)
