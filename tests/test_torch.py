"""Parity with torch.gradient, and the examples of the page the project started from."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from daskgrad import gradient

torch = pytest.importorskip("torch")

T = np.array([[1, 2, 4, 8], [10, 20, 40, 80]])


def torch_ref(f, **kwargs):
    spacing = kwargs.pop("spacing", None)
    if spacing is not None and isinstance(spacing, list):
        spacing = [torch.as_tensor(s) if np.ndim(s) else s for s in spacing]
        if all(isinstance(s, torch.Tensor) for s in spacing):
            spacing = tuple(spacing)
    args = {} if spacing is None else {"spacing": spacing}
    return tuple(t.numpy() for t in torch.gradient(torch.as_tensor(f), **args, **kwargs))


@pytest.mark.parametrize("as_dask", [False, True])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"spacing": 2.0},
        {"dim": 1},
        {"spacing": [3.0, 2.0]},
        {"spacing": [2.0, 3.0], "edge_order": 2},
        {"dim": [1, 0], "spacing": [0.5, 4.0]},
        {"spacing": [np.array([0.0, 1.5]), np.array([-1.0, 0.0, 2.0, 5.0])], "edge_order": 1},
    ],
)
def test_matches_torch_gradient(as_dask, kwargs):
    f = T.astype(np.float64)
    if kwargs.get("edge_order") == 2:  # needs 3 points along each dim
        f = np.arange(15.0).reshape(3, 5) ** 2
    ref = torch_ref(f, **dict(kwargs))
    ours = gradient(da.from_array(f, chunks=1) if as_dask else f, **kwargs)
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref, strict=True):
        np.testing.assert_allclose(np.asarray(o), r, rtol=1e-12)


def test_reference_page_examples():
    # f(x) = x^2 at [-2, -1, 1, 4]
    (g,) = gradient(np.array([4.0, 1.0, 1.0, 16.0]), spacing=[np.array([-2.0, -1.0, 1.0, 4.0])])
    np.testing.assert_allclose(g, [-3.0, -2.0, 2.0, 5.0])
    d0, d1 = gradient(T)
    np.testing.assert_allclose(d0, [[9, 18, 36, 72], [9, 18, 36, 72]])
    np.testing.assert_allclose(d1, [[1, 1.5, 3, 4], [10, 15, 30, 40]])
    d0, d1 = gradient(T, spacing=2.0)
    np.testing.assert_allclose(d0, [[4.5, 9, 18, 36], [4.5, 9, 18, 36]])
    np.testing.assert_allclose(d1, [[0.5, 0.75, 1.5, 2], [5, 7.5, 15, 20]])
    (d1,) = gradient(T, dim=1)
    np.testing.assert_allclose(d1, [[1, 1.5, 3, 4], [10, 15, 30, 40]])


def test_reference_page_spacing_order_error():
    # The page prints the outputs of spacing=[2., 3.] under spacing=[3., 2.]; spacing[i] applies
    # to the i-th dim in torch, numpy and here.
    printed = (
        np.array([[4.5, 9.0, 18.0, 36.0], [4.5, 9.0, 18.0, 36.0]]),
        np.array([[0.3333, 0.5, 1.0, 1.3333], [3.3333, 5.0, 10.0, 13.3333]]),
    )
    ours = gradient(T, spacing=[2.0, 3.0])
    real = torch_ref(T.astype(float), spacing=[2.0, 3.0])
    for o, p, r in zip(ours, printed, real, strict=True):
        np.testing.assert_allclose(o, p, atol=1e-4)
        np.testing.assert_allclose(o, r, rtol=1e-12)
    swapped = gradient(T, spacing=[3.0, 2.0])
    assert not np.allclose(swapped[0], printed[0])
    for o, r in zip(swapped, torch_ref(T.astype(float), spacing=[3.0, 2.0]), strict=True):
        np.testing.assert_allclose(o, r, rtol=1e-12)


def test_torch_rejects_one_element_list_and_so_do_we():
    with pytest.raises(RuntimeError):
        torch.gradient(torch.as_tensor(T, dtype=torch.float64), spacing=[2.0])
    with pytest.raises(ValueError, match="spacing has 1 entries but 2 dims"):
        gradient(T, spacing=[2.0])
