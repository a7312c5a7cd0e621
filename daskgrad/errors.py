"""Errors shared by the pipeline, the cluster connection, the writer and the command line."""

from __future__ import annotations

import os
import re
import sys
import types
import warnings


class UsageError(Exception):
    """Bad usage or bad input: reported on one line with exit status 2."""


def first_line(e: BaseException) -> str:
    """``Type: first line of the message``, for one-line error reports."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


_TOKENS = re.compile(r"(-[0-9a-f]{16,})+$")


def strip_tokens(name: str) -> str:
    """A dask key name without its trailing -TOKENs: 'open_dataset-u' of 'open_dataset-u-<hex>'."""
    return _TOKENS.sub("", name)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # daskgrad/


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn at the first line outside daskgrad (the user's call, however deep the API's own
    calls go: the accessor, an operator, the geospatial grid)."""
    level = 2  # the frame that called this
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
