"""The command line's job: what to read and the lazy output Dataset to write, with what the
memory rule counts of its tasks (built by :func:`daskgrad.cli.pipeline.prepare`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def largest_chunk(var: Any) -> int:
    """Bytes of the largest chunk of an xarray variable (its whole size if not chunked)."""
    chunks = var.chunks or [[n] for n in var.shape]
    return var.dtype.itemsize * math.prod(max(c, default=0) for c in chunks)


@dataclass
class Job:
    """A validated, lazily built gradient: what to read and what to write."""

    source: Any  # the input variables, lazy
    result: Any  # the output Dataset, lazy
    dims: list[str] = field(default_factory=list)  # differentiated dims
    absent: int = 0  # input chunks absent from the store
    accuracy: int = 2
    nan_policy: str = "propagate"
    batch: str = ""  # how tasks group stored chunks, for a failure's chunk index
    inputs: int = 1  # input variables one task reads together (u and v of a vorticity)
    outputs: int = 0  # arrays a task computes besides the derivatives (an operator's result)
    grid: str = ""  # the geospatial grid found, for the summary line

    @property
    def bytes_read(self) -> int:
        return int(sum(v.nbytes for v in self.source.data_vars.values()))

    @property
    def bytes_written(self) -> int:
        return int(sum(v.nbytes for v in self.result.data_vars.values()))

    @property
    def chunk_bytes(self) -> int:
        """The largest chunk of any output variable, in bytes (inputs are at most as large)."""
        return max(map(largest_chunk, self.result.data_vars.values()), default=0)

    @property
    def chunk_bytes_whole(self) -> int:
        """The largest output variable, whole, in bytes: a task's chunk when one process
        computes everything at once."""
        return max((int(v.nbytes) for v in self.result.data_vars.values()), default=0)

    @property
    def k(self) -> int:
        """Derivatives computed per input chunk, at most."""
        return len(self.dims)

    @property
    def counts(self) -> dict[str, Any]:
        """What ``task_bytes`` counts besides the chunk and ``k``: the inputs a task reads,
        the outputs it computes besides the derivatives, the input's itemsize over the
        results' (uint8 → float64: 1/8), whether neighbouring chunks give ghost planes."""
        source = list(self.source.data_vars.values())
        result = list(self.result.data_vars.values())
        if not source or not result:
            return {"inputs": self.inputs, "outputs": self.outputs}
        widest = max(result, key=largest_chunk)
        ratio = max(v.dtype.itemsize for v in source) / widest.dtype.itemsize
        neighbours = any(
            v.chunks is not None and d in v.dims and len(v.chunks[v.dims.index(d)]) > 1
            for v in source
            for d in self.dims
        )
        return {
            "inputs": self.inputs,
            "outputs": self.outputs,
            "input_ratio": ratio,
            "neighbours": neighbours,
        }
