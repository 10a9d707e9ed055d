"""Named families (optimizers, schedules, models, datasets, ...): one registry each.

A :class:`Registry` maps a name to an entry: the object (a class, a factory, a
loader), a one-line description for help and docs tables, aliases, and any
family-specific fields (an optimizer's default learning rate, a schedule's
argument form).  Each family keeps its registry in its own package, next to
the things it names::

    kisonet.optim.OPTIMIZERS                     kisonet.optim.lr_scheduler.SCHEDULES
    kisonet.nn.activation.ACTIVATIONS            kisonet.nn.init.INITS
    kisonet.models.MODELS                        kisonet.data.DATASETS
    kisonet.data.transforms.PRESETS              kisonet.distributed.modes.MODES
    kisonet.experiments.EXPERIMENTS

The command line, config validation, docs tables, experiments and the
dashboard read these registries; adding a member of a family is one entry.
Lookup is forgiving about case and ``_`` versus ``-``; an unknown name is one
:func:`kisonet.errors.unknown_name` line with the closest valid name.

A registry is a read-only :class:`~collections.abc.Mapping` from canonical
name to object, so ``name in REG``, ``REG[name]`` and ``list(REG)`` work as on
the dicts they replace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import KisonetValueError, unknown_name
from .lang import gettext, tr

__all__ = ["Entry", "Registry", "normalize_name"]

T = TypeVar("T")
_MISSING: Any = object()


def normalize_name(name: Any) -> str:
    """The lookup key of a name: trimmed, lower case, ``_`` read as ``-``."""
    return str(name).strip().lower().replace("_", "-")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered member: its canonical ``name``, the ``value`` it stands for,
    a one-line ``description``, its ``aliases`` and family-specific ``meta`` fields
    (also readable as attributes: ``entry.default_lr``)."""

    name: str
    value: T
    description: str = ""
    aliases: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        meta = self.__dict__.get("meta", {})
        if key in meta:
            return meta[key]
        raise AttributeError(tr("{0!r} entry has no field {1!r}", self.name, key))


class Registry(Mapping[str, T]):
    """Name -> object, with aliases, descriptions and one-line unknown-name errors.

    ``kind`` names the family in messages ("unknown optimizer 'adm' (did you mean
    'adam'?); choose from: ...").  ``key`` turns a user's spelling into a lookup
    key (default :func:`normalize_name`).
    """

    def __init__(self, kind: str, key: Callable[[Any], str] = normalize_name) -> None:
        self.kind = kind
        self._key = key
        self._entries: dict[str, Entry[T]] = {}
        self._lookup: dict[str, str] = {}  # key of a name or alias -> canonical name

    # --- filling ---------------------------------------------------------------------

    def add(self, name: str, value: T, description: str = "", aliases: Iterable[str] = (), **meta: Any) -> T:
        """Register ``value`` under ``name`` (and ``aliases``); returns ``value``."""
        aliases = tuple(aliases)
        for spelling in (name, *aliases):
            k = self._key(spelling)
            if k in self._lookup:
                raise KisonetValueError(tr("{0} {1!r} is registered twice", self.kind, spelling))
            self._lookup[k] = name
        self._entries[name] = Entry(name, value, description, aliases, dict(meta))
        return value

    def register(self, name: str, description: str = "", aliases: Iterable[str] = (), **meta: Any) -> Callable[[T], T]:
        """Decorator form of :meth:`add`: ``@REG.register("name", "what it does")``."""

        def deco(value: T) -> T:
            return self.add(name, value, description, aliases, **meta)

        return deco

    # --- reading ---------------------------------------------------------------------

    def canonical(self, name: Any) -> str:
        """The canonical name of ``name`` or one of its aliases; unknown: a one-line error."""
        found = self._lookup.get(self._key(name))
        if found is None:
            raise unknown_name(gettext(self.kind), name, self._entries)
        return found

    def entry(self, name: Any) -> Entry[T]:
        """The full entry of ``name`` (description, aliases, meta fields)."""
        return self._entries[self.canonical(name)]

    def get(self, name: Any, default: Any = _MISSING) -> Any:  # type: ignore[override]
        """The object registered as ``name``; unknown: ``default`` if given, else the error."""
        k = self._lookup.get(self._key(name))
        if k is None:
            if default is not _MISSING:
                return default
            raise unknown_name(gettext(self.kind), name, self._entries)
        return self._entries[k].value

    def names(self) -> tuple[str, ...]:
        """Canonical names, in registration order."""
        return tuple(self._entries)

    def entries(self) -> tuple[Entry[T], ...]:
        return tuple(self._entries.values())

    def describe(self) -> list[tuple[str, str]]:
        """``[(name, description), ...]`` for help texts and docs tables."""
        return [(e.name, e.description) for e in self._entries.values()]

    def table(self) -> str:
        """A Markdown table of names and descriptions (for the docs)."""
        rows = [f"| `{n}` | {d} |" for n, d in self.describe()]
        return "\n".join([f"| {self.kind} | description |", "|---|---|", *rows])

    # --- Mapping -----------------------------------------------------------------------

    def __getitem__(self, name: Any) -> T:
        k = self._lookup.get(self._key(name))
        if k is None:
            raise KeyError(name)
        return self._entries[k].value

    def __contains__(self, name: object) -> bool:
        return self._key(name) in self._lookup

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
