"""What a record says about where it was measured: the checkout, the library versions, the machine."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .records import Environment

REPOSITORY = Path(__file__).resolve().parents[1]

#: Names the machine in records (the report says which machine each series comes from); the host name otherwise.
MACHINE_VARIABLE = "GNN1000_MACHINE"


def machine_name() -> str | None:
    return os.environ.get(MACHINE_VARIABLE) or platform.node() or None


def collect_environment(device: str) -> Environment:
    """The environment of a run on ``device`` ("cpu" or "cuda[:i]"); imports torch, nothing else."""
    import torch

    commit, dirty = _git_state(REPOSITORY)
    return Environment(
        git_commit=commit,
        git_dirty=dirty,
        python=platform.python_version(),
        torch=_version("torch"),
        torch_geometric=_version("torch_geometric"),
        dgl=_version("dgl"),
        ogb=_version("ogb"),
        device=torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else _cpu_name(),
        cpu_count=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        cuda=torch.version.cuda,
        platform=platform.platform(),
        torch_threads=torch.get_num_threads(),
        machine=machine_name(),
    )


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_state(folder: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding ``folder``; (None, None) outside git or before the first commit."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, None if status is None else bool(status)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"
