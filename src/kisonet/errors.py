"""kisonet's exception hierarchy.

Every error kisonet raises on purpose derives from :class:`KisonetError`, so a
user can catch all of them at once.  Each subclass also inherits the built-in
exception a Python user would expect (``ValueError`` for a bad shape or value,
``TypeError`` for a wrong type, ``OSError`` for files), so code that catches
the built-in keeps working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .lang import tr


class KisonetError(Exception):
    """Base class of every error kisonet raises deliberately."""


class KisonetValueError(KisonetError, ValueError):
    """An argument has the right type but a value kisonet cannot accept."""


class ConfigError(KisonetValueError):
    """A bad option value: a command-line flag, a config-file key or a :class:`~kisonet.train.RunConfig`
    field (the message starts with the option's name; the command line exits with code 2)."""


class ShapeError(KisonetValueError):
    """Array shapes do not fit together (the message names the op and both shapes)."""


class KisonetTypeError(KisonetError, TypeError):
    """An argument has a type kisonet cannot accept."""


class ArgumentTypeError(KisonetTypeError, KisonetValueError):
    """An argument of the wrong type where a number, a name, a flag or a sequence was expected
    (``lr='fast'``, ``kernel_size=2.5``): a TypeError, and also a ValueError because that is what
    such checks raised before :mod:`kisonet.validation` gathered them, so either ``except`` works."""


class KisonetIndexError(KisonetError, IndexError):
    """An index is out of range (an IndexError, so ``for x in dataset`` stops as Python expects)."""


class GraphError(KisonetError, RuntimeError):
    """The autograd graph cannot be used as asked (freed, modified in place, ...)."""


class NumericalError(KisonetError, FloatingPointError):
    """A NaN or Inf appeared where training cannot go on."""


class KisonetIOError(KisonetError, OSError):
    """A file could not be read or written."""


class CheckpointError(KisonetIOError):
    """A checkpoint file is corrupted, truncated, foreign or does not match."""


class DataError(KisonetIOError):
    """A dataset file is missing, corrupted or cannot be downloaded."""


class RunFolderError(KisonetIOError):
    """A run folder that cannot be used as asked: it holds another run, another process is
    writing it, or its files contradict each other (e.g. config.json edited before ``--resume``)."""


def closest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest valid name, or ``""``."""
    match = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return tr(" (did you mean {0!r}?)", match[0]) if match else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> KisonetValueError:
    """Build the error for an unknown name, listing the valid ones and the closest.

    ``kind`` is shown as given: pass it through :func:`kisonet.i18n.tr` (``tr("optimizer")``)."""
    choices = sorted(choices)
    return KisonetValueError(
        tr("unknown {0} {1!r}{2}; choose from: {3}", kind, name, closest(name, choices), ", ".join(choices))
    )
