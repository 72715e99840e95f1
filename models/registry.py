"""One name → component registry class for the whole project.

Operators, connection kinds, data sets, measurements and report items are each a :class:`Registry`. Adding one is
one file plus one ``register`` call; everything that takes a name (``build_model``, suite validation, the worker,
the report) asks the registry, so a new entry is visible everywhere at once and a wrong name fails with one line
listing the allowed ones. A name registered twice is an error (two modules claiming one name is a bug, not a
preference); tests that must replace an entry say so with :meth:`Registry.override`.

Plugins: the modules named in the environment variable ``GNN1000_PLUGINS`` (comma-separated, importable from
``sys.path``) are imported before any registry is read, in every process (the harness's cell processes too), so an
operator, connection, data set, measurement or figure defined outside this repository is found like a built-in one.

Written by hand because the field's libraries keep their registries private (PyG's ``resolver`` maps class names,
GraphGym's ``register`` dicts overwrite silently); this module imports nothing but the standard library.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Generic, Iterator, Optional, TypeVar

T = TypeVar("T")

PLUGINS_VARIABLE = "GNN1000_PLUGINS"
_loaded_plugins: set[str] = set()


def load_plugins() -> None:
    """Import every module named in ``GNN1000_PLUGINS`` that is not imported yet (each registers itself)."""
    for module in filter(None, (name.strip() for name in os.environ.get(PLUGINS_VARIABLE, "").split(","))):
        if module not in _loaded_plugins:
            _loaded_plugins.add(module)  # first: a plugin that reads a registry while importing must not recurse
            importlib.import_module(module)


class Registry(Generic[T]):
    """A named collection of components of one kind (``kind`` names it in errors: "operator", "data set")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._attributes: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **attributes: Any) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")`` on a class or a function; ``attributes`` are kept beside it
        (e.g. ``scalable=True`` for a data set) and read back with :meth:`attributes`."""

        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice (by {_origin(self._entries[name])} "
                                 f"and {_origin(entry)}); use {type(self).__name__}.override in tests")
            self._entries[name] = entry
            self._attributes[name] = dict(attributes)
            return entry

        return add

    def override(self, name: str, entry: T, **attributes: Any) -> "_Restore":
        """Make ``name`` mean ``entry`` (added, or replacing the registered one), on purpose: for tests.

        As a context manager (``with REGISTRY.override(...):``) the previous entry comes back at the end of the
        block; called bare, the override lasts for the process (a plugin that plants a regression in the cell
        processes only).
        """
        previous = (self._entries[name], self._attributes[name]) if name in self._entries else None
        self._entries[name], self._attributes[name] = entry, dict(attributes)
        return _Restore(self, name, previous)

    def get(self, name: str) -> T:
        load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}") from None

    def attributes(self, name: str) -> dict[str, Any]:
        self.get(name)
        return dict(self._attributes[name])

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """Entries in registration order (the report draws its items in this order)."""
        load_plugins()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        load_plugins()
        return len(self._entries)


class _Restore:
    """Undoes one :meth:`Registry.override` when its ``with`` block ends."""

    def __init__(self, registry: Registry[Any], name: str, previous: Optional[tuple[Any, dict[str, Any]]]) -> None:
        self.registry, self.name, self.previous = registry, name, previous

    def __enter__(self) -> Any:
        return self.registry._entries[self.name]

    def __exit__(self, *exc_info: Any) -> None:
        if self.previous is None:
            self.registry._entries.pop(self.name, None)
            self.registry._attributes.pop(self.name, None)
        else:
            self.registry._entries[self.name], self.registry._attributes[self.name] = self.previous


def _origin(entry: Any) -> str:
    entry = getattr(entry, "build", entry)  # a record wrapping a builder (a report item) names the builder
    module: Optional[str] = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", type(entry).__name__)
    return f"{module}.{name}" if module else name
