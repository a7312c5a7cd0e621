"""The package's version, in one place (the command line's --version reads it; importing this
module imports ``daskgrad/__init__`` and its API first, as every submodule's import does)."""

from __future__ import annotations

__version__ = "0.1.0"
