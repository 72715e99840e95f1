"""``python -m plots build RESULTS_DIR [--out DIR]``: figures, tables and REPORT.md from records (never runs a model).

Expected failures (no such folder, a broken paper.json) are one line on stderr and exit status 2. Every JSON file
skipped because it is not a valid record is one warning line on stderr, then their count; ``--strict`` makes any
skipped file a failure (exit 1, after the report is written), for CI on input known to be good.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from harness.records import RecordError

from .reference import DEFAULT_PATH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m plots", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="figures (PNG, PDF), tables (Markdown, LaTeX) and REPORT.md")
    build.add_argument("results", type=Path, help="folder searched recursively for records (e.g. results/)")
    build.add_argument("--out", type=Path, help="output folder (default: RESULTS/report)")
    build.add_argument("--paper", type=Path, default=DEFAULT_PATH, help="reference values (default: %(default)s)")
    build.add_argument("--committed-only", action="store_true",
                       help="read only the committed store and baselines, not your own runs (a report to commit)")
    build.add_argument("--strict", action="store_true",
                       help="exit 1 if any JSON file under RESULTS was skipped as not a valid record")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .report import build_report

    try:
        result = build_report(args.results, args.out, args.paper, args.committed_only)
    except (RecordError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(result.records)} records → {len(result.drawn)} figures/tables, {len(result.skipped)} skipped; "
          f"report: {result.report}")
    for artifact in result.skipped:
        print(f"  skipped {artifact.name}: {artifact.skipped}")
    rejected = result.records.rejected
    for reason in rejected:
        print(f"warning: skipped {reason}", file=sys.stderr)
    if rejected:
        print(f"warning: {len(rejected)} file(s) skipped as not valid records (listed in {result.report})",
              file=sys.stderr)
    return 1 if rejected and args.strict else 0
