"""Shared input validators (infrastructure: no engine, no layers).

Checks that more than one public entry point needs, returning normalised values
and raising kisonet's one-line errors.
"""

from __future__ import annotations

__all__: list[str] = []
