"""The code fingerprint of a measurement: a hash of the source it ran, as asv versions a benchmark by its source.

A record keeps the fingerprint of the ``models`` and ``harness`` packages (every ``.py`` file, by path relative to
the package and content) and of the suite file that defined the cell. ``harness run`` measures again a cell whose
record carries another fingerprint (an edit to a connection kind makes every record it could affect stale), and
the report marks a figure built from records of more than one. Contents, not timestamps or commits, are hashed:
two clones of one tree agree, and a commit that changes only the report changes nothing.
"""
from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Iterable

#: The packages whose source a measurement depends on.
PACKAGES = ("models", "harness")
LENGTH = 16


def source_files(packages: Iterable[str] = PACKAGES) -> list[tuple[str, Path]]:
    """``(name, path)`` of every Python source file of ``packages``, the name relative to the package's parent."""
    files = []
    for package in packages:
        root = Path(importlib.import_module(package).__file__).resolve().parent
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                files.append((path.relative_to(root.parent).as_posix(), path))
    return files


def code_fingerprint(suite_file: Path | None = None, packages: Iterable[str] = PACKAGES) -> str:
    """The hex digest (``LENGTH`` characters) over the packages' sources and the suite file's bytes."""
    digest = hashlib.sha256()
    entries = [(name, path.read_bytes()) for name, path in source_files(packages)]
    if suite_file is not None:
        entries.append(("suite:" + Path(suite_file).name, Path(suite_file).read_bytes()))
    for name, content in entries:
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:LENGTH]
