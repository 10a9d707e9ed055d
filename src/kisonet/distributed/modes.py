"""The ways ``kisonet train --distributed MODE`` spreads a run over MPI ranks, by name.

The registry lives with the run setting it names (:data:`kisonet.config.DISTRIBUTED_MODES`);
this module is its home inside the distributed package.
"""

from __future__ import annotations

from ..config import DISTRIBUTED_MODES as MODES

__all__ = ["MODES"]
