"""plots/: figures, tables and REPORT.md from records made by a real (tiny) harness run; fits; paper values."""
from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from plots.fit import expected_exponents, fit_offset_power_law, fit_power_law
from plots.reference import UNVERIFIED_MARK, PaperReference, parse_count
from plots.report import build_report

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_PAPER = REPOSITORY.parent / "shared" / "reference" / "paper.json"

#: A tiny "memory" suite (the main job's name, so Figs. 2-4 draw from it): three connection kinds, three depths.
TINY_SUITE = """
[suite]
name = "memory"
measurements = ["memory"]
timeout_s = 300

[base]
operator = "gcn"
channels = 16
dataset = "synthetic-arxiv"
scale = 0.005
mode = "full"
seed = 0

[grid]
connection = ["res", "rev", "deq"]
# depth-independent activations (encoder, head) dominate a shallow tiny model: sweep far enough for the slope
layers = [2, 8, 32]

[profiles.smoke]
[profiles.full]
"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Records of a real run of the tiny suite through ``python -m harness run`` (models really measured)."""
    root = tmp_path_factory.mktemp("plots")
    suite = root / "memory.toml"
    suite.write_text(TINY_SUITE)
    results = root / "results"
    run = subprocess.run([sys.executable, "-m", "harness", "run", str(suite), "--profile", "smoke", "--device", "cpu",
                          "--out", str(results / "memory" / "smoke"), "--no-progress"],
                         cwd=REPOSITORY, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return results


@pytest.fixture(scope="module")
def report(measured: Path, tmp_path_factory: pytest.TempPathFactory):
    return build_report(measured, tmp_path_factory.mktemp("report"))


def test_project_paper_json_is_the_shared_reference() -> None:
    if not SHARED_PAPER.exists():
        pytest.skip("../shared/reference/paper.json is not present on this machine")
    assert filecmp.cmp(REPOSITORY / "results" / "reference" / "paper.json", SHARED_PAPER, shallow=False)


def test_fit_recovers_a_known_exponent() -> None:
    x = np.array([4, 8, 16, 32, 64, 128], dtype=float)
    noise = np.exp(np.random.default_rng(0).normal(0, 0.01, x.size))
    fit = fit_power_law(x, 3.5 * x**1.7 * noise)
    assert fit.exponent == pytest.approx(1.7, abs=0.02)
    assert fit.prefactor == pytest.approx(3.5, rel=0.1)
    assert fit.r_squared is not None and fit.r_squared > 0.999


def test_exponential_fit_recovers_a_known_base() -> None:
    from plots.fit import fit_exponential

    x = np.array([2, 3, 4, 5, 6], dtype=float)
    noise = np.exp(np.random.default_rng(0).normal(0, 0.01, x.size))
    fit = fit_exponential(x, 5.0 * 3.0**x * noise)
    assert fit.base == pytest.approx(3.0, rel=0.02)
    assert fit.r_squared is not None and fit.r_squared > 0.999


def test_fit_of_a_flat_series_has_exponent_zero_and_no_r_squared() -> None:
    fit = fit_power_law([2, 4, 8], [5.0, 5.0, 5.0])
    assert fit.exponent == pytest.approx(0.0, abs=1e-12)
    assert fit.r_squared is None


def test_fit_rejects_what_is_not_a_power_law() -> None:
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2, 3], [1, 0, 2])
    with pytest.raises(ValueError, match="distinct"):
        fit_power_law([2, 2], [1, 2])


@pytest.mark.parametrize("exponent", [0.5, 1.0, 1.7])
def test_offset_fit_recovers_the_exponent_that_a_constant_hides(exponent: float) -> None:
    x = np.array([16, 32, 64, 128, 256], dtype=float)
    y = 4e6 + 2e4 * x**exponent  # a constant term (an adjacency, an input) beside the part that grows
    assert fit_power_law(x, y).exponent < exponent - 0.1  # the plain log-log slope is pulled down
    fit = fit_offset_power_law(x, y)
    assert fit.exponent == pytest.approx(exponent, abs=0.01)
    assert fit.offset == pytest.approx(4e6, rel=0.02)
    assert fit.r_squared is not None and fit.r_squared > 0.9999


def test_offset_fit_of_flat_pure_and_short_series() -> None:
    x = [4, 8, 16, 32]
    flat = fit_offset_power_law(x, [7.0] * 4)
    assert flat.exponent == 0.0 and flat.r_squared is None
    pure = fit_offset_power_law(x, [3.0 * v for v in x])  # no constant: the offset stays at zero, not below
    assert pure.exponent == pytest.approx(1.0, abs=0.01) and pure.offset == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 4"):
        fit_offset_power_law([2, 4, 8], [1.0, 2.0, 3.0])


def test_expected_exponents_from_the_papers_big_o() -> None:
    assert expected_exponents("O(LND)") == {"L": 1.0, "N": 1.0, "D": 1.0}
    assert expected_exponents("O(BD)") == {"B": 1.0, "D": 1.0}
    assert expected_exponents("O(R^L B D)")["L"] is None  # exponential in L, no power law


def test_paper_values_keep_their_provenance() -> None:
    paper = PaperReference()
    row = paper.find("proteins_112_layers", model="RevGNN-64")
    assert not paper.value("proteins_112_layers", row, "memory_gb").verified  # transcribed
    assert paper.value("proteins_112_layers", row, "params").tag == "computed"
    deep = paper.find("proteins_headline", model="RevGNN-Deep")
    assert paper.value("proteins_headline", deep, "memory_gb").tag == "slides"
    wide = paper.find("proteins_headline", model="RevGNN-Wide")
    assert paper.value("proteins_headline", wide, "memory_gb").tag == "transcribed"
    assert parse_count("2.10M") == 2_100_000 and parse_count("51.2k") == 51_200


def test_figures_are_drawn_as_png_and_pdf(report) -> None:
    drawn = {a.name: a for a in report.drawn if a.kind == "figure"}
    for figure in ("fig2-memory-vs-depth__memory-smoke", "fig4-deq__memory-smoke"):
        assert figure in drawn, sorted(drawn)
        suffixes = sorted(path.suffix for path in drawn[figure].files)
        assert suffixes == [".pdf", ".png"]
        assert all(path.stat().st_size > 1000 for path in drawn[figure].files)
        assert len(drawn[figure].sources) >= 6  # every res/rev (or res/deq) record of the run


def test_absent_records_skip_with_the_reason(report) -> None:
    skipped = {a.name: a.skipped for a in report.skipped}
    assert "run `tox -e reproduce-products`" in skipped["fig5-products-full-vs-mini"]
    assert "fig3-weight-tied" in skipped  # the tiny suite has no weight-tied cells
    text = report.report.read_text()
    assert "*Skipped: no records of suite 'products'" in text


def test_tables_show_paper_values_with_the_unverified_mark(report) -> None:
    arxiv = (report.out / "tables" / "table-arxiv-ablation.md").read_text()
    assert "| ResGCN | 28 | 128 | 11.15 |" in arxiv  # verified (slides): no mark
    assert "needs the ogbn-arxiv data" in arxiv  # no arxiv records: the table says why
    proteins = (report.out / "tables" / "table-proteins.md").read_text()
    assert f"| ResGNN-64 | 112 | 64 | 27.10{UNVERIFIED_MARK} |" in proteins
    assert "transcribed" in proteins and "unverified" in proteins
    latex = (report.out / "tables" / "table-proteins.tex").read_text()
    assert r"27.10$^\dagger$" in latex and r"\toprule" in latex


def test_complexity_table_fits_the_measured_sweeps(report) -> None:
    table = (report.out / "tables" / "table-complexity.md").read_text()
    res = next(line for line in table.splitlines() if line.startswith("| Full-batch GNN |"))
    rev = next(line for line in table.splitlines() if line.startswith("| RevGNN |"))
    res_exponent = float(re.search(r"1 → (-?[\d.]+) \(R²", res).group(1))
    rev_exponent = float(re.search(r"0 → (-?[\d.]+) \(R²", rev).group(1))
    assert res_exponent > 0.5  # activations grow with depth
    assert abs(rev_exponent) < 0.1  # and do not for the reversible stack


def test_every_link_in_the_report_resolves_to_a_file(report, measured: Path) -> None:
    text = report.report.read_text()
    links = re.findall(r"\]\(([^)#]+)\)", text)
    cited = [(report.out / link).resolve() for link in links if link.endswith(".json")]
    run = (measured / "memory" / "smoke").resolve()
    assert cited and all(path.parent == run for path in cited)  # the run's own record files, not copies
    assert not (report.out / "records").exists()
    missing = [link for link in links if not (report.out / link).exists()]
    assert not missing


def test_building_reads_records_only() -> None:
    """Building the report must not import the model library (it never runs a model); the registry class is all it
    takes from ``models``."""
    code = textwrap.dedent("""
        import sys, tempfile
        from plots.report import build_report
        with tempfile.TemporaryDirectory() as folder:
            build_report(folder)
        loaded = {name for name in sys.modules if name.split(".")[0] in ("models", "torch", "torch_geometric")}
        assert loaded <= {"models", "models.registry"}, f"plots imported a model: {sorted(loaded)}"
    """)
    run = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def test_cli_reports_a_missing_folder_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "plots", "build", str(tmp_path / "nowhere")], cwd=REPOSITORY,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "no such results folder" in run.stderr
