"""The report's sources: the committed record store, the baselines and a user's own runs, and what the report says
about them (the machine of each series, links to the records themselves, mixed code versions, plugins' figures).

The first test is the issue's guarantee: a build on a fresh checkout plus one new run removes no committed file.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.cells import config_hash
from harness.records import Record, read_record, write_record
from plots.draw import collect_series
from plots.records import Origin, load_record_set
from plots.registry import load_entries, register
from plots.report import build_report
from tests.test_plots_overhead import MIB, make_record, overhead_record

REPOSITORY = Path(__file__).resolve().parent.parent
MACHINE = "test-box"


def committed_results(destination: Path) -> list[Path]:
    """Copy what a fresh clone of the working tree has under ``results/`` (tracked or to be added; not the ignored
    runs) to ``destination/results``; the copied files, relative to ``destination``."""
    try:
        listed = subprocess.run(["git", "-C", str(REPOSITORY), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard", "--", "results"], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("git is not installed: cannot tell the committed files from a user's runs")
    if listed.returncode != 0:
        pytest.skip(f"{REPOSITORY} is not a git checkout: cannot tell the committed files from a user's runs")
    copied = []
    for name in filter(None, listed.stdout.split("\0")):
        source = REPOSITORY / name
        if source.is_file():  # a file deleted in the working tree is not in the next commit
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination / name)
            copied.append(Path(name))
    return copied


def users_run(record: Record, machine: str = MACHINE, **cell: object) -> Record:
    """``record`` re-measured by a user on ``machine``, with ``cell`` changed (a new cell id to match)."""
    changed = {**record.cell, **cell}
    return record.model_copy(update={
        "cell": changed, "cell_id": config_hash(changed),
        "environment": record.environment.model_copy(update={"machine": machine})})


def memory_record(connection: str, layers: int, mib: float) -> Record:
    return make_record("memory", "cpu", {"connection": connection, "layers": layers, "mode": "mini", "num_parts": 4},
                       {"peak_allocated_bytes": int(mib * MIB)}, ["memory"])


def test_a_fresh_checkout_plus_one_run_keeps_every_committed_file(tmp_path: Path) -> None:
    committed = committed_results(tmp_path)
    artifacts = [name for name in committed if name.parts[:2] == ("results", "report")
                 and (name.suffix in (".png", ".pdf", ".md", ".tex"))]
    assert any(name.suffix == ".png" for name in artifacts), "the checkout has no committed report to keep"
    store = sorted((tmp_path / "results" / "records").glob("*/memory/*/*.json"))
    assert store, "the checkout has no committed memory records"
    before = len(load_record_set(tmp_path / "results"))
    write_record(tmp_path / "results" / "memory" / "cpu", users_run(read_record(store[0]), layers=5))

    built = build_report(tmp_path / "results", paper=tmp_path / "results" / "reference" / "paper.json")

    missing = [str(name) for name in committed if not (tmp_path / name).is_file()]
    assert not missing, f"the build removed committed files: {missing[:10]}"
    text = built.report.read_text()
    assert f"your run on {MACHINE}" in text
    assert any(item.origin == Origin(MACHINE, committed=False) for item in built.records)
    assert len(built.records) == before + 1


def test_a_users_run_wins_over_the_committed_record_of_the_same_cell(tmp_path: Path) -> None:
    results = tmp_path / "results"
    committed = overhead_record("gcn", 28, "res", 1.0, 100)
    users = committed.model_copy(update={"metrics": committed.metrics.model_copy(
        update={"peak_allocated_bytes": 333 * MIB}),
        "environment": committed.environment.model_copy(update={"machine": MACHINE})})
    write_record(results / "records" / "box-a" / "overhead" / "cpu", committed)
    write_record(results / "records" / "box-b" / "overhead" / "cpu", committed)
    write_record(results / "baselines" / "cpu", committed)
    write_record(results / "overhead" / "cpu", users)
    write_record(results / "records" / "box-b" / "overhead" / "cpu", overhead_record("gcn", 28, "rev", 1.1, 20))

    records = load_record_set(results)
    assert len(records) == 2
    res = records.where(connection="res").first()
    assert res.origin == Origin(MACHINE, committed=False) and res.path.parent == results / "overhead" / "cpu"
    assert res.metric("peak_allocated_bytes") == 333 * MIB
    os.remove(results / "overhead" / "cpu" / f"{committed.cell_id}.json")
    first = load_record_set(results).where(connection="res").first()
    assert first.origin == Origin("box-a", committed=True)  # the store's first copy, before box-b and the baseline

    write_record(results / "overhead" / "cpu", users)
    built = build_report(results, tmp_path / "report")
    table = (built.out / "tables" / "table-overhead__cpu-cpu.md").read_text()
    link = re.search(r"\[333\]\(([^)]+)\)", table).group(1)
    assert (built.out / "tables" / link).resolve() == (results / "overhead" / "cpu" / f"{users.cell_id}.json").resolve()
    assert "; box-b (committed))" in table and f"; your run on {MACHINE})" in table  # the caption's machines


def test_a_figure_of_two_origins_names_the_machine_of_each_series(tmp_path: Path) -> None:
    results = tmp_path / "results"
    for layers, mib in ((4, 10), (16, 40)):
        write_record(results / "records" / "box-a" / "memory" / "cpu", memory_record("res", layers, mib))
    write_record(results / "memory" / "cpu", users_run(memory_record("res", 8, 20)))
    built = build_report(results, tmp_path / "report")
    figure = next(a for a in built.drawn if a.name == "fig2-memory-vs-depth__memory-cpu")
    assert "records: box-a (committed); your run on test-box" in figure.caption
    labels = sorted(series.label for series in collect_series(load_record_set(results)))
    assert labels == ["ResGNN-128 (mini-batch) [box-a]", f"ResGNN-128 (mini-batch) [your run on {MACHINE}]"]
    single = collect_series(load_record_set(results / "records"))  # one origin: no machine in the legend
    assert [series.label for series in single] == ["ResGNN-128 (mini-batch)"]
    inventory = next(line for line in built.report.read_text().splitlines() if line.startswith("| memory | cpu |"))
    assert f"box-a (committed), your run on {MACHINE}" in inventory


@pytest.mark.parametrize("fingerprints", [("a" * 64, "b" * 64), ("c" * 64, "c" * 64)])
def test_an_item_built_from_two_code_versions_is_marked(tmp_path: Path, fingerprints: tuple[str, str]) -> None:
    results = tmp_path / "results" / "overhead" / "cpu"
    for (connection, seconds, mib), fingerprint in zip((("res", 1.0, 100), ("rev", 1.1, 20)), fingerprints):
        record = overhead_record("gcn", 28, connection, seconds, mib)
        write_record(results, record.model_copy(update={"code_fingerprint": fingerprint}))
    built = build_report(tmp_path / "results", tmp_path / "report")
    text = built.report.read_text()
    contents = next(line for line in text.splitlines() if "(#table-overhead__cpu-cpu)" in line)
    section = text.split('<a id="table-overhead__cpu-cpu"></a>')[1].split("<a id=")[0]
    marker = "⚠ built from records of 2 code versions: fingerprint aaaaaaaaaaaa, fingerprint bbbbbbbbbbbb"
    if fingerprints[0] != fingerprints[1]:
        assert contents.endswith("⚠ 2 code versions") and marker in section
    else:
        assert "⚠" not in contents and "⚠" not in section
    assert load_record_set(tmp_path / "results").code_versions() == sorted(
        {f"fingerprint {fingerprint[:12]}" for fingerprint in fingerprints})


def test_records_made_before_fingerprints_are_told_apart_by_commit(tmp_path: Path) -> None:
    results = tmp_path / "results" / "overhead" / "cpu"
    record = overhead_record("gcn", 28, "res", 1.0, 100)
    write_record(results, record)
    dirty = overhead_record("gcn", 28, "rev", 1.1, 20)
    write_record(results, dirty.model_copy(update={"environment": dirty.environment.model_copy(
        update={"git_commit": "1234567890abcdef", "git_dirty": True})}))
    assert load_record_set(tmp_path / "results").code_versions() == ["commit 0000000000",
                                                                       "commit 1234567890+dirty"]


def test_every_cited_link_resolves_to_the_record_file_itself(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_record(results / "records" / "box-a" / "overhead" / "cpu", overhead_record("gcn", 28, "res", 1.0, 100))
    write_record(results / "overhead" / "cpu", overhead_record("gcn", 28, "rev", 1.1, 20))
    built = build_report(results, tmp_path / "elsewhere" / "report")
    records = {item.path.resolve() for item in built.records}
    documents = [built.report, *sorted((built.out / "tables").glob("*.md"))]
    cited = [(document.parent / link).resolve() for document in documents
             for link in re.findall(r"\]\(([^)#]+\.json)\)", document.read_text())]
    assert cited and set(cited) == records  # both records cited, from REPORT.md and from tables/, no copies
    assert not (built.out / "records").exists()


def test_a_plugin_named_in_the_environment_adds_a_figure(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "gnn1000_test_plugin.py").write_text(textwrap.dedent('''
        """A figure defined outside the repository: how many records the report has."""
        import matplotlib.pyplot as plt

        from plots.artifact import Artifact
        from plots.registry import register
        from plots.style import save_figure

        NAME, TITLE = "fig9-plugin-count", "Records counted by a plugin"


        @register(NAME, "figure", TITLE)
        def build(ctx):
            figure, axis = plt.subplots()
            axis.bar(["records"], [len(ctx.records)])
            files = save_figure(figure, ctx.figures_dir, NAME)
            return [Artifact(NAME, TITLE, "figure", caption=f"{len(ctx.records)} records.", files=files,
                             sources=list(ctx.records))]
    '''))
    write_record(tmp_path / "results" / "overhead" / "cpu", overhead_record("gcn", 28, "res", 1.0, 100))
    environment = {**os.environ, "GNN1000_PLUGINS": "gnn1000_test_plugin",
                   "PYTHONPATH": os.pathsep.join([str(plugins), str(REPOSITORY)])}
    run = subprocess.run([sys.executable, "-m", "plots", "build", str(tmp_path / "results"), "--out",
                          str(tmp_path / "report")], cwd=REPOSITORY, env=environment, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "report" / "figures" / "fig9-plugin-count.png").stat().st_size > 1000
    text = (tmp_path / "report" / "REPORT.md").read_text()
    assert "- [Records counted by a plugin](#fig9-plugin-count)" in text and "1 records." in text


def test_a_report_item_name_is_registered_once() -> None:
    names = [entry.name for entry in load_entries()]
    assert len(names) == len(set(names)) and "fig2-memory-vs-depth" in names
    with pytest.raises(ValueError, match="report item 'fig2-memory-vs-depth' is registered twice"):
        register("fig2-memory-vs-depth", "figure", "a second Fig. 2")(lambda ctx: [])
