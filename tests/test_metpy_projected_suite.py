"""MetPy's own tests of its map-factor operators on projected grids, run through daskgrad.

Ported from MetPy's test suite (BSD-3-Clause; ``tests/calc/test_kinematics.py`` of
Unidata/MetPy, read through the code search): the seven cases issue 21 lists,
``test_vorticity_geographic``, ``test_divergence_geographic`` and
``test_geospatial_laplacian_geographic`` with ``[+proj=lcc lat_1=25]`` and ``[+proj=stere]``, and
``test_vorticity_grid_pole``. None needs MetPy's downloadable test data; all build their inputs
in code. The names are MetPy's.

``test_vorticity_grid_pole`` is ported as it is: MetPy's 3×3 grid around the North Pole of a
Lambert azimuthal equal-area projection (given here as a CF ``grid_mapping``, which is what
MetPy's ``assign_crs`` stores), its grid-relative winds, and its assertion (the first and last
rows agree to 9 decimals), plus a comparison with MetPy's own ``vorticity`` on the same inputs.

The ``*_geographic`` tests cannot be ported number for number. MetPy's fixture ``geog_data``
pairs a regular longitude/latitude grid (-100…-70 °E by 10°, 45…65 °N by 10°) with a projected
CRS: its truth is MetPy's map-factor formula (``first_derivative`` of u, v and of pyproj's
``parallel_scale``/``meridional_scale`` at those points) over equatorial/meridional "nominal"
spacings. A regular longitude/latitude grid is not a grid of that projection, so those numbers
describe no data on a projected grid; daskgrad reads a projected grid only from x/y
coordinates and refuses MetPy's inputs as given, naming ``crs`` (tested below). The port keeps
MetPy's CRS strings, its field (u = v = the column index, in m/s), its region and its truth
formula, on the CRS's own x/y grid covering that region at 50 km. Tolerances:

- MetPy's own (``decimal=12`` absolute) holds between MetPy's functions and its formula on this
  grid, and is asserted, so the truth is what MetPy computes for these inputs.
- daskgrad differentiates the map factors exactly, MetPy with second-order differences, so the
  two agree to O(h²) (``test_difference_from_metpy_shrinks_as_h_squared``): DESIGN.md's
  "Projected grids" rule, rtol 1e-4 of the field's scale away from the two outermost rows and
  columns. For the Laplacian of MetPy's field (linear in x on a conformal map, so zero) the
  scale is that of the terms MetPy's formula sums, which cancel.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pyproj = pytest.importorskip("pyproj")
mpcalc = pytest.importorskip("metpy.calc")

from metpy.calc import first_derivative  # noqa: E402
from metpy.testing import assert_array_almost_equal  # noqa: E402
from metpy.units import units  # noqa: E402

import daskgrad  # noqa: E402

GEOG_CRS = ["+proj=lcc lat_1=25", "+proj=stere"]
INTERIOR = (slice(2, -2), slice(2, -2))  # away from the two outermost rows and columns


def geog_grid(proj_string, step=50e3):
    """MetPy's geog_data on the CRS's own grid: u = v = column index over its region.

    Returns the Dataset (CF grid_mapping ``crs``), pyproj's parallel and meridional scales at
    its points, and the field as a Quantity.
    """
    crs = pyproj.CRS(proj_string)
    proj = pyproj.Proj(crs)
    # the boundary of MetPy's region, densely, to find its extent in the projection
    side = np.linspace(0.0, 1.0, 61)
    lon = np.concatenate(
        [-100 + 30 * side, np.full(61, -70.0), -70 - 30 * side, np.full(61, -100.0)]
    )
    lat = np.concatenate([np.full(61, 45.0), 45 + 20 * side, np.full(61, 65.0), 65 - 20 * side])
    bx, by = proj(lon, lat)
    x = np.arange(bx.min(), bx.max() + step, step)
    y = np.arange(by.min(), by.max() + step, step)
    lon2, lat2 = proj(*np.meshgrid(x, y), inverse=True)
    factors = proj.get_factors(lon2, lat2)
    field = np.repeat(np.arange(x.size, dtype=float)[None, :], y.size, axis=0)
    attrs = {"units": "m/s", "grid_mapping": "crs"}
    ds = xr.Dataset(
        {"u": (("y", "x"), field, attrs), "v": (("y", "x"), field, attrs)},
        coords={
            "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "crs": ((), 0, crs.to_cf()),
        },
    )
    return ds, factors.parallel_scale, factors.meridional_scale, field * units("m/s"), step


def metpy_formula(kind, arr, mx, my, step):
    """MetPy's "known map-correct" truth of its *_geographic tests, and the size of its terms."""
    d = step * units.m

    def dx(f):
        return first_derivative(f, delta=d, axis=1)

    def dy(f):
        return first_derivative(f, delta=d, axis=0)

    u = v = arr
    if kind == "vorticity":
        terms = [mx * dx(v), -my * dy(u), -(v * mx / my) * dx(my), (u * my / mx) * dy(mx)]
    elif kind == "divergence":
        terms = [mx * dx(u), my * dy(v), -(u * mx / my) * dx(my), -(v * my / mx) * dy(mx)]
    else:  # MetPy's geospatial Laplacian: the divergence of its gradient
        gu, gv = mx * dx(arr), my * dy(arr)
        terms = [mx * dx(gu), my * dy(gv), -(gu * mx / my) * dx(my), -(gv * my / mx) * dy(mx)]
    truth = sum(terms[1:], terms[0])
    return truth, max(float(np.abs(t.m[INTERIOR]).max()) for t in terms)


def metpy_function(kind, ds):
    """MetPy's own function on the same Dataset (its CRS from the same CF grid_mapping)."""
    mds = ds.drop_vars("crs").metpy.assign_crs(ds["crs"].attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # lat/lon computed on demand
        if kind == "laplacian":
            out = mpcalc.geospatial_laplacian(mds.u)
        else:
            out = getattr(mpcalc, kind)(mds.u, mds.v)
    return out.metpy.unit_array


def daskgrad_result(kind, ds):
    if kind == "laplacian":
        return daskgrad.laplacian(ds.u, geospatial=True).values
    return getattr(daskgrad, kind)(ds.u, ds.v, geospatial=True, winds="grid").values


def check_geographic(kind, proj_string):
    ds, mx, my, arr, step = geog_grid(proj_string)
    truth, terms_scale = metpy_formula(kind, arr, mx, my, step)
    # MetPy's assertion, for MetPy, on this grid: its function is its formula
    assert_array_almost_equal(metpy_function(kind, ds), truth, 12)
    ours = daskgrad_result(kind, ds)
    scale = terms_scale if kind == "laplacian" else float(np.abs(truth.m[INTERIOR]).max())
    assert scale > 0
    np.testing.assert_allclose(ours[INTERIOR], truth.m[INTERIOR], rtol=0, atol=1e-4 * scale)


@pytest.mark.parametrize("proj_string", GEOG_CRS)
def test_vorticity_geographic(proj_string):
    """MetPy's vorticity test on its CRS's own grid (grid-relative winds, MetPy's convention)."""
    check_geographic("vorticity", proj_string)


@pytest.mark.parametrize("proj_string", GEOG_CRS)
def test_divergence_geographic(proj_string):
    """MetPy's divergence test on its CRS's own grid."""
    check_geographic("divergence", proj_string)


@pytest.mark.parametrize("proj_string", GEOG_CRS)
def test_geospatial_laplacian_geographic(proj_string):
    """MetPy's geospatial_laplacian test on its CRS's own grid (daskgrad's ``laplacian``)."""
    check_geographic("laplacian", proj_string)


def test_difference_from_metpy_shrinks_as_h_squared():
    """Why MetPy's decimal=12 cannot hold for daskgrad: the gap is MetPy's O(h²) derivative of
    the map factors (LCC at 100 and 50 km: about 4e-5 and 1e-5 of the field's scale)."""
    gaps = []
    for step in (100e3, 50e3):
        ds, mx, my, arr, step = geog_grid(GEOG_CRS[0], step)
        truth, _ = metpy_formula("vorticity", arr, mx, my, step)
        ours = daskgrad_result("vorticity", ds)
        gap = np.abs(ours - truth.m)[INTERIOR].max() / np.abs(truth.m[INTERIOR]).max()
        gaps.append(gap)
    assert gaps[0] > 1e-12  # not rounding: a real difference of method
    assert 3.0 < gaps[0] / gaps[1] < 5.0  # second order: halving h divides it by about 4


def test_metpy_inputs_as_given_are_refused_naming_crs():
    """MetPy's geog_data itself (a lon/lat grid with a projected CRS) is no projected grid."""
    lon = xr.DataArray([-100.0, -90.0, -80.0, -70.0], dims="lon", attrs={"units": "degrees_east"})
    lat = xr.DataArray([45.0, 55.0, 65.0], dims="lat", attrs={"units": "degrees_north"})
    field = np.repeat(np.arange(4.0)[None, :], 3, axis=0)
    u = xr.DataArray(field, coords={"lat": lat, "lon": lon}, dims=("lat", "lon"), name="u")
    u.attrs["units"] = "m/s"
    with pytest.raises(ValueError, match="crs=") as err:
        daskgrad.vorticity(u, u, geospatial=True, winds="grid", crs=GEOG_CRS[0])
    assert "\n" not in str(err.value)


def grid_pole_dataset():
    """MetPy's test_vorticity_grid_pole inputs: the pole at the centre of a 3×3 LAEA grid."""
    xy = [-25067.525, 0.0, 25067.525]
    us = np.ones((3, 3))
    vs = us * np.linspace(-1, 0, 3)[None, :]
    mapping = {
        "grid_mapping_name": "lambert_azimuthal_equal_area",
        "longitude_of_projection_origin": 0,
        "latitude_of_projection_origin": 90,
        "false_easting": 0,
        "false_northing": 0,
    }
    attrs = {"units": "m/s", "grid_mapping": "crs"}
    return xr.Dataset(
        {"u": (("y", "x"), us, attrs), "v": (("y", "x"), vs, attrs)},
        coords={
            "x": ("x", xy, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "y": ("y", xy, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "crs": ((), 0, mapping),
        },
    )


def test_vorticity_grid_pole():
    """MetPy's #2582: vorticity is consistent across the pole (first row = last row)."""
    ds = grid_pole_dataset()
    vort = daskgrad.vorticity(ds.u, ds.v, geospatial=True, winds="grid")
    # MetPy's assertion and tolerance
    assert_array_almost_equal(vort.isel(y=0).values, vort.isel(y=-1).values, decimal=9)
    # and MetPy's own vorticity of the same inputs: at 25 km its numerical derivative of the
    # (non-conformal) map factors is 5e-6 from the exact one, well inside DESIGN's rtol 1e-4;
    # there are no interior points to keep on a 3×3 grid, so all nine are compared
    reference = metpy_function("vorticity", ds).m_as("1/s")
    np.testing.assert_allclose(vort.values, reference, rtol=0, atol=1e-4 * np.abs(reference).max())
