"""The package's version, importable without the package's API (the command line's --version)."""

from __future__ import annotations

__version__ = "0.1.0"
