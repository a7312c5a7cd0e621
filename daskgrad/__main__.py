"""``python -m daskgrad``: the command line."""

from __future__ import annotations

import sys

from daskgrad.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
