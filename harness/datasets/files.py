"""Where data sets live on disk, and the check made before any loader may download.

Root: the ``root`` argument (the command line's ``--data-root``), else ``$GNN1000_DATA_ROOT``, else
``~/.cache/gnn1000``. Read-only mirrors (``$GNN1000_DATA_MIRRORS``, ``os.pathsep``-separated; by default the project's
``../shared/datasets`` when it exists) are copied from, never written to.

Library loaders (ogb, PyG) download when a file is missing, and ogb asks ``input()`` questions when a folder looks
stale or a download is large. :func:`require_files` runs first: it returns at once when every file is there; when
some are missing it asks whether the download host answers within half a second (a TCP connect in a daemon thread,
so a slow DNS cannot stall it), and when it does not, raises :class:`DatasetUnavailable` — one line naming the
folder, the missing files and how to get them — without ever calling the library. Folders left empty by an earlier
failed download are removed first, so the next run starts clean.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path
from typing import Iterable, Optional

from .base import DatasetUnavailable

ROOT_VARIABLE = "GNN1000_DATA_ROOT"
MIRRORS_VARIABLE = "GNN1000_DATA_MIRRORS"
OFFLINE_VARIABLE = "GNN1000_OFFLINE"  # "1": never try the network (tests, air-gapped machines)
DEFAULT_ROOT = Path("~/.cache/gnn1000")
PROJECT_MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
PROBE_SECONDS = 0.5


def data_root(root: Optional[str | os.PathLike] = None) -> Path:
    """The folder data sets are read from and written to (created on first use)."""
    chosen = root if root is not None else os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT
    return Path(chosen).expanduser()


def mirrors() -> list[Path]:
    """Read-only folders holding data sets in their loaders' layout."""
    listed = os.environ.get(MIRRORS_VARIABLE)
    if listed is not None:
        return [Path(entry).expanduser() for entry in listed.split(os.pathsep) if entry]
    return [PROJECT_MIRROR] if PROJECT_MIRROR.is_dir() else []


def search_roots(root: Optional[str | os.PathLike] = None) -> list[Path]:
    """Where data sets are looked for, first match wins: the data root, then each mirror."""
    return [data_root(root), *mirrors()]


def find_in_mirrors(relative: str, files: Iterable[str]) -> Optional[Path]:
    """The first mirror folder ``<mirror>/<relative>`` that holds every one of ``files``."""
    files = list(files)
    for mirror in mirrors():
        folder = mirror / relative
        if all((folder / name).is_file() for name in files):
            return folder
    return None


def missing_files(folder: Path, files: Iterable[str]) -> list[str]:
    return [name for name in files if not (folder / name).is_file()]


def host_reachable(host: str, port: int = 80, timeout: float = PROBE_SECONDS) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds (DNS included)."""
    if os.environ.get(OFFLINE_VARIABLE, "") not in ("", "0"):
        return False
    outcome: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    probe = threading.Thread(target=connect, daemon=True)
    probe.start()
    probe.join(timeout)
    return bool(outcome and outcome[0])


def remove_empty_tree(folder: Path) -> None:
    """Delete ``folder`` if it holds no file at any depth (what a failed download leaves behind)."""
    if folder.is_dir() and not any(path.is_file() for path in folder.rglob("*")):
        shutil.rmtree(folder)


def require_files(name: str, folder: Path, files: list[str], host: str, how_to_get: str, port: int = 80) -> bool:
    """Return ``False`` when ``files`` are all under ``folder``, ``True`` when they are not but ``host`` answers (the
    library may download); otherwise raise :class:`DatasetUnavailable`."""
    missing = missing_files(folder, files)
    if not missing:
        return False
    remove_empty_tree(folder)
    if folder.is_dir():  # some files but not all: downloading over it would mix versions
        raise DatasetUnavailable(f"{name}: {folder} is incomplete, missing {', '.join(missing)}; "
                                 f"complete it or delete the folder to download again ({how_to_get})")
    if host_reachable(host, port):
        return True
    raise DatasetUnavailable(f"{name}: no data at {folder} (needs {', '.join(files)}) and {host} cannot be reached; "
                             f"{how_to_get}, or point --data-root / ${ROOT_VARIABLE} at a folder that has it")


def copy_tree_atomically(source: Path, destination: Path) -> None:
    """Copy ``source`` to ``destination`` through a temporary sibling, so a crash never leaves half a copy."""
    staging = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns("processed", "*.md", "SHA256SUMS"))
    for path in staging.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)  # mirrors are read-only; the copy must take processed files
    staging.chmod(staging.stat().st_mode | 0o200)
    os.replace(staging, destination)
