"""The registry of report items: one figure or table = one module = one entry here.

Modules under ``plots/figures`` and ``plots/tables`` register a builder with :func:`register`; the report builds
every entry, figures first, then tables. A new figure is a new module and nothing else. The registry is the
project's one :class:`models.registry.Registry` (a name registered twice is an error), so a module named in
``GNN1000_PLUGINS`` that calls :func:`register` adds a figure or table from outside this repository.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Literal

from models.registry import Registry

from .artifact import Artifact, BuildContext

Builder = Callable[[BuildContext], list[Artifact]]


@dataclass(frozen=True)
class Entry:
    name: str
    kind: Literal["figure", "table"]
    title: str
    build: Builder


REGISTRY: Registry[Entry] = Registry[Entry]("report item")


def register(name: str, kind: Literal["figure", "table"], title: str) -> Callable[[Builder], Builder]:
    """Decorator on a module's builder: the report draws it as item ``name``."""
    def add(build: Builder) -> Builder:
        REGISTRY.register(name)(Entry(name, kind, title, build))
        return build

    return add


def load_entries() -> list[Entry]:
    """Import every module of plots.figures and plots.tables (each registers itself) and the plugins; figures
    first."""
    for package in ("plots.figures", "plots.tables"):
        module = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda info: info.name):
            importlib.import_module(f"{package}.{info.name}")
    entries = [entry for _, entry in REGISTRY.items()]  # items() imports the GNN1000_PLUGINS modules first
    return sorted(entries, key=lambda entry: (entry.kind != "figure", _order(entry.name)))


def _order(name: str) -> tuple[int, str]:
    """fig1 … fig5, then the rest by name."""
    digits = "".join(ch for ch in name.split("-")[0] if ch.isdigit())
    return (int(digits) if digits else 99, name)
