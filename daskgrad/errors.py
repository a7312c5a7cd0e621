"""Errors shared by the pipeline, the cluster connection, the writer and the command line."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
import types
import warnings
from collections.abc import Hashable, Iterable, Iterator, Sequence


class UsageError(Exception):
    """Bad usage or bad input: reported on one line with exit status 2."""


class Wording:
    """How a caller spells options and dims; this one is the Python API's: keywords
    (``accuracy``, ``accuracy=4``), dims by name when ``dims`` names them, else by number."""

    def __init__(self, dims: Sequence[Hashable] | None = None) -> None:
        self.dims = dims

    def option(self, name: str, value: str | None) -> str:
        return name if value is None else f"{name}={value}"

    def dim(self, axis: int) -> str:
        return f"dim {axis}" if self.dims is None else f"dim {self.dims[axis]!r}"

    def spacing(self, index: int, axis: int) -> str:
        """The coordinates spacing a dim: ``spacing[0] (dim 1)``, or ``coordinate 'x'``."""
        if self.dims is None:
            return f"spacing[{index}] (dim {axis})"
        return f"coordinate {self.dims[axis]!r}"


# {opt:NAME} an option, {opt:NAME=VALUE} an option given a value, {dim:AXIS} a dim,
# {spacing:INDEX:AXIS} the INDEX-th spacing argument, of dim AXIS
_FIELD = re.compile(r"\{(opt|dim|spacing):([^{}]*)\}")


class Worded:
    """A message that names options and dims through a :class:`Wording` chosen by the caller:
    ``str()`` gives the API's words, ``worded(Flags)`` the command line's. ``option`` is the
    option at fault (its Python name); ``template`` the message with its fields unspelled;
    ``dims`` the dim names, when a layer that knows them has set them."""

    option: str
    template: str
    dims: Sequence[Hashable] | None

    def worded(self, wording: type[Wording] = Wording) -> str:
        words = wording(self.dims)

        def spell(m: re.Match[str]) -> str:
            kind, text = m[1], m[2]
            if kind == "opt":
                name, sep, value = text.partition("=")
                return words.option(name, value if sep else None)
            if kind == "dim":
                return words.dim(int(text))
            index, _, axis = text.partition(":")
            return words.spacing(int(index), int(axis))

        return _FIELD.sub(spell, self.template)

    @property
    def message(self) -> str:
        return self.worded()

    def __str__(self) -> str:
        return self.worded()


class OptionError(Worded, ValueError):
    """A bad value of the option ``option``, in words each caller chooses (see :class:`Worded`).

    Examples
    --------
    >>> e = OptionError("accuracy", "{opt:accuracy} must be 2 or 4; got 3 ({opt:edge_order=1})")
    >>> str(e), e.option
    ('accuracy must be 2 or 4; got 3 (edge_order=1)', 'accuracy')
    """

    def __init__(self, option: str, template: str, dims: Sequence[Hashable] | None = None) -> None:
        super().__init__(option, template)
        self.option, self.template, self.dims = option, template, dims


class OptionTypeError(OptionError, TypeError):
    """An option of the wrong type."""


class OptionNotImplemented(OptionError, NotImplementedError):
    """A combination of options daskgrad cannot do (yet)."""


class OptionUsageError(Worded, UsageError):
    """Bad usage of the option ``option`` (an existing output without ``overwrite``, say),
    in words each caller chooses (see :class:`Worded`)."""

    def __init__(self, option: str, template: str) -> None:
        super().__init__(option, template)
        self.option, self.template, self.dims = option, template, None


class OptionWarning(Worded, UserWarning):
    """A warning that names options, in words each caller chooses (see :class:`Worded`)."""

    def __init__(self, option: str, template: str) -> None:
        super().__init__(option, template)
        self.option, self.template, self.dims = option, template, None


@contextlib.contextmanager
def dims_named(dims: Sequence[Hashable], what: str | None = None) -> Iterator[None]:
    """Errors of the array layer, which numbers dims, named by the layer that knows ``dims``.

    An :class:`OptionError` raised inside gets ``dims``, so that its words name them; a
    ValueError, TypeError or IndexError is raised again, of its type, with the dims listed by
    number: ``(dim numbers: 0='y', 1='x')``, or ``(differentiating WHAT; dims 0='y', 1='x')``
    when ``what`` says what was differentiated.

    Parameters
    ----------
    dims : sequence of hashable
        The names of dims 0, 1, … of the array differentiated inside.
    what : str, optional
        What is differentiated (``"variable 't'"``), for the message.

    Returns
    -------
    context manager

    Examples
    --------
    >>> with dims_named(("y", "x")):
    ...     raise OptionError("dim", "{dim:1} has 1 point")
    Traceback (most recent call last):
    ...
    daskgrad.errors.OptionError: dim 'x' has 1 point
    >>> with dims_named(("y", "x")):
    ...     raise IndexError("axis 2 is out of bounds")
    Traceback (most recent call last):
    ...
    IndexError: axis 2 is out of bounds (dim numbers: 0='y', 1='x')
    """
    try:
        yield
    except OptionError as err:
        err.dims = dims
        raise
    except (ValueError, TypeError, IndexError) as err:
        names = ", ".join(f"{i}={d!r}" for i, d in enumerate(dims))
        note = f"dim numbers: {names}" if what is None else f"differentiating {what}; dims {names}"
        raise type(err)(f"{err} ({note})") from err


def first_line(e: BaseException) -> str:
    """``Type: first line of the message``, for one-line error reports."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


_TOKENS = re.compile(r"(-[0-9a-f]{16,})+$")


def strip_tokens(name: str) -> str:
    """A dask key name without its trailing -TOKENs: 'open_dataset-u' of 'open_dataset-u-<hex>'."""
    return _TOKENS.sub("", name)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # daskgrad/


def warn_caller(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """Warn at the first line outside daskgrad (the user's call, however deep the API's own
    calls go: the accessor, an operator, the geospatial grid)."""
    level = 2  # the frame that called this
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)


#: Keywords every public function with ``**options`` names in its signature: a typo of one of
#: them arrives among the options, and is suggested with them.
NAMED_KEYWORDS = ("dim", "dims", "geospatial")


def unexpected_options(
    kind: str, unknown: Iterable[str], allowed: Iterable[str], context: str = ""
) -> TypeError:
    """The TypeError of ``kind()`` given the ``unknown`` options: what it allows (``context``
    says when, e.g. ``" with geospatial=False"``), and for a typo the allowed word it is
    closest to (among ``allowed`` and :data:`NAMED_KEYWORDS`).

    Examples
    --------
    >>> print(unexpected_options("frontogenesis", ["geospatiall"], ["accuracy", "spacing"]))
    frontogenesis() got unexpected options ['geospatiall'] (did you mean 'geospatial'?); \
allowed: ['accuracy', 'spacing']
    """
    unknown, allowed = sorted(map(str, unknown)), sorted(allowed)
    words = [*allowed, *(w for w in NAMED_KEYWORDS if w not in allowed)]
    close = [m for u in unknown for m in difflib.get_close_matches(u, words, n=1)]
    hint = f" (did you mean {' or '.join(map(repr, dict.fromkeys(close)))}?)" if close else ""
    return TypeError(
        f"{kind}() got unexpected options {unknown}{hint}; allowed{context}: {allowed}"
    )
