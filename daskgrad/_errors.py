"""Errors shared by the pipeline, the cluster connection, the writer and the command line."""

from __future__ import annotations

import re


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
