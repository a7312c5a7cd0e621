"""The kinematic functions' horizontal dims are checked by the one check of ``dim``
(core.plan.normalize_dims), as divergence's are: the same errors, the same words, for every
function (issue "One house": every option validated once)."""

from __future__ import annotations

import numpy as np
import pytest

import daskgrad
from daskgrad.errors import OptionError

A = np.random.default_rng(0).random((3, 4, 5))
P = np.array([1000.0, 900.0, 800.0]) * 100

FUNCTIONS = {
    "divergence": lambda d: daskgrad.divergence(A, A, dim=d),
    "shearing_deformation": lambda d: daskgrad.shearing_deformation(A, A, dim=d),
    "advection": lambda d: daskgrad.advection(A, A, A, dim=d),
    "frontogenesis": lambda d: daskgrad.frontogenesis(A, A, A, dim=d),
    "potential_vorticity_baroclinic": lambda d: daskgrad.potential_vorticity_baroclinic(
        A, P, A, A, vertical_dim=0, dim=d, latitude=0.5
    ),
    "q_vector": lambda d: daskgrad.q_vector(A, A, A, 50000.0, dim=d),
}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dim", [(0,), 1.5, (0, 1, 2)])
def test_not_a_pair_is_refused_in_the_words_of_divergence(name, dim):
    with pytest.raises(OptionError) as e:
        FUNCTIONS[name](dim)
    assert e.value.option == "dim"
    assert str(e.value) == f"{name} needs dim=(x, y), two dims; got dim={dim!r}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_an_axis_out_of_range_is_numpys_axis_error(name):
    with pytest.raises(np.exceptions.AxisError, match="dim 5 is out of range for an input with 3"):
        FUNCTIONS[name]((0, 5))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_repeated_axis_is_named_as_given(name):
    with pytest.raises(OptionError, match=r"dim has repeated entries: \(1, 1\)$"):
        FUNCTIONS[name]((1, 1))


def test_the_engines_advection_with_a_vertical_wind_takes_three_dims():
    from daskgrad.core.kinematics import kinematic_arrays

    with pytest.raises(OptionError, match=r"advection needs dim=\(x, y, z\), three dims"):
        kinematic_arrays("advection", [A, A, A, A], dims=(2, 1))
    (adv,) = kinematic_arrays("advection", [A, A, A, A], dims=(2, 1, 0), spacing=(1.0, 1.0, 1.0))
    # numpy.gradient's: -(u ds/dx + v ds/dy + w ds/dz), s = u = v = w = A
    np.testing.assert_allclose(adv, -sum(A * np.gradient(A, axis=ax) for ax in (2, 1, 0)))
