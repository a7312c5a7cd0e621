"""The command line: ``daskgrad run`` and ``daskgrad demo``."""

from __future__ import annotations

from .app import main

__all__ = ["main"]
