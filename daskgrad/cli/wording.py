"""The command line's words: errors and warnings of the lower layers said with flags for the
options they name (``--accuracy 4`` for ``accuracy=4``)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import Worded, Wording, first_line

__all__ = ["Flags", "said", "say_warnings"]


class Flags(Wording):
    """The command line's words for options: ``--accuracy``, ``--accuracy 4``, ``--overwrite``
    for ``overwrite=True``; dims by name."""

    def option(self, name: str, value: str | None) -> str:
        flag = "--" + name.replace("_", "-")
        return flag if value in (None, "True") else f"{flag} {value}"


def said(e: BaseException) -> str:
    """An error's message in the command line's words, without its class: the options that
    a lower layer names (see ``errors.Worded``) as flags."""
    if isinstance(e, Worded):
        return e.worded(Flags)
    return first_line(e).partition(": ")[2] or str(e)


def say_warnings(caught: list, say: Callable[[str], None]) -> None:
    """Each distinct warning of ``caught`` as one ``warning: …`` line (its first line), the
    options it names as flags."""
    said = [
        m.worded(Flags) if isinstance(m, Worded) else str(m) for m in (w.message for w in caught)
    ]
    lines = [text.strip().splitlines() for text in said]
    for line in dict.fromkeys(text[0] for text in lines if text):
        if "consolidated" not in line.lower():
            say(f"warning: {line}")
