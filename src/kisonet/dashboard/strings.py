"""The dashboard's words: the English text of every label, translated by kisonet's gettext catalogs.

The page asks ``/api/strings?lang=ja`` once and looks every label up by its English text; the
translations live with the command line's in ``kisonet/locale/<lang>/LC_MESSAGES/kisonet.po``
(msgid = the English text below; after editing a ``.po``, run ``python -m kisonet.i18n``).
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache

from ..i18n import DOMAIN, LANGUAGES, LOCALE_DIR

__all__ = ["LANGUAGES", "MESSAGES", "strings"]

MESSAGES: tuple[str, ...] = (
    "Runs",
    "Playground",
    "Optimizer paths",
    "Filter",
    "filter runs (name, kind, dataset, model, status)",
    "run",
    "kind",
    "status",
    "dataset",
    "model",
    "optimizer",
    "epochs",
    "best val acc",
    "best test acc",
    "best train loss",
    "modified",
    "running",
    "finished",
    "interrupted",
    "failed",
    "No run folders found under",
    "Select runs to compare their curves.",
    "Learning curves",
    "Options that differ",
    "All options",
    "Figures",
    "Files",
    "Metrics",
    "Summary",
    "loss",
    "accuracy",
    "epoch",
    "step",
    "train",
    "test",
    "val",
    "live",
    "Data",
    "noise",
    "train ratio",
    "points",
    "seed",
    "Network",
    "hidden layers",
    "units",
    "activation",
    "initialisation",
    "Training",
    "learning rate",
    "momentum",
    "schedule",
    "schedule epochs",
    "batch size",
    "Regularisation",
    "L1",
    "L2",
    "dropout",
    "batch norm",
    "input noise",
    "Run",
    "Pause",
    "Step",
    "Reset",
    "Race",
    "race mode",
    "lanes",
    "Lane",
    "Decision boundary",
    "Loss",
    "Hidden units",
    "train loss",
    "test loss",
    "train acc",
    "test acc",
    "steps/s",
    "diverged",
    "function",
    "steps",
    "start",
    "Draw",
    "optimizers",
    "click the plot to choose the start point",
    "Same data and initial weights in every lane.",
    "The session ended; reload the page.",
    "Weights: line width = |w|, blue = positive, orange = negative.",
    "language",
    "starting the session…",
    "default",
    "connected",
    "disconnected",
)


@cache
def strings(lang: str) -> dict[str, str]:
    """English text -> ``lang``'s words for every message of the page (English: empty, the
    page shows its own text).  A message without a translation is left out (stays English)."""
    if lang == "en":
        return {}
    cat = _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)
    return {m: t for m in MESSAGES if (t := cat.gettext(m)) != m}
