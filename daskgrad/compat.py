"""The private APIs of other libraries that daskgrad uses, each imported here and nowhere else.

Checked on dask 2026.8.0 and xarray 2026.9.0 (``tests/test_compat.py`` exercises each one and
names the versions): when a release moves one of them, this module is the one to change.
"""

from __future__ import annotations

from typing import Any

# dask's task spec: graphs of Task objects (no tuples), which daskgrad builds and rewrites
from dask._task_spec import Alias, DataNode, Task, TaskRef, convert_legacy_graph

__all__ = [
    "Alias",
    "DataNode",
    "Task",
    "TaskRef",
    "contains_datetime_like",
    "convert_legacy_graph",
    "to_numeric",
]


def contains_datetime_like(var: Any) -> bool:
    """Whether an xarray Variable holds datetime64, timedelta64 or cftime values (xarray's own
    test, which ``DataArray.differentiate`` uses)."""
    from xarray.core.common import _contains_datetime_like_objects

    return bool(_contains_datetime_like_objects(var))


def to_numeric(var: Any, **kwargs: Any) -> Any:
    """An xarray Variable of dates or durations as numbers, as ``differentiate`` converts them
    (``Variable._to_numeric``: ``offset``, ``datetime_unit``)."""
    return var._to_numeric(**kwargs)
