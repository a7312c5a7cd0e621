"""Kinematics (issue 20): MetPy's same-named functions on lat/lon and Cartesian grids, analytic
fields on the sphere with their convergence order, laziness, tasks per chunk, dtypes, NaN
holes and masks, units and names, and errors that name the culprit."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")
mc = pytest.importorskip("metpy.calc")
pint = pytest.importorskip("pint")

from metpy.units import units as mpu  # noqa: E402

import daskgrad  # noqa: E402

from .conftest import raise_if_dask_computes  # noqa: E402
from .metpy_crs import with_wkt  # noqa: E402

R = 6371008.8  # MetPy's earth radius, daskgrad's default sphere
OMEGA = 7.292115e-5
G = 9.80665
WINDS = ("shearing_deformation", "stretching_deformation", "total_deformation")


def latlon(fields, lat, lon, crs=True):
    """A Dataset of ``{name: (values, units)}`` on 1-D lat/lon, with MetPy's CRS of our sphere."""
    ds = xr.Dataset(
        {k: (("lat", "lon"), v, {"units": u}) for k, (v, u) in fields.items()},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )
    return (
        ds.metpy.assign_crs(grid_mapping_name="latitude_longitude", earth_radius=R) if crs else ds
    )


def values(x):
    x = x.metpy.dequantify() if isinstance(x, xr.DataArray) else x
    return np.asarray(getattr(x, "magnitude", x))


def close_to_scale(ours, ref, rtol):
    ours, ref = values(ours), values(ref)
    scale = np.nanmax(np.abs(ref))
    assert scale > 0
    err = np.nanmax(np.abs(ours - ref))
    assert err <= rtol * scale, (err / scale, rtol)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))


def metpy(name, *args, **kwargs):
    args = tuple(with_wkt(a) for a in args)
    kwargs = {k: with_wkt(v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MetPy's "vertical dimension not found"
        return getattr(mc, name)(*args, **kwargs)


# --- MetPy on a 0.25° latitude/longitude grid ---------------------------------------------------

LAT, LON = np.arange(-60.0, 60.01, 0.25), np.arange(100.0, 115.01, 0.25)
NH = np.arange(10.0, 60.01, 0.25)  # f is 0 at the equator: the geostrophic wind stays away


def random_fields(lat, seed=0):
    rng = np.random.default_rng(seed)
    shape = (lat.size, LON.size)
    return latlon(
        {
            "u": (10 * rng.standard_normal(shape), "m/s"),
            "v": (10 * rng.standard_normal(shape), "m/s"),
            "theta": (300 + rng.standard_normal(shape), "K"),
            "z": (5500 + 30 * rng.standard_normal(shape), "m"),
        },
        lat,
        LON,
    )


def analytic_fields(lat):
    phi, lam = np.meshgrid(np.radians(lat), np.radians(LON), indexing="ij")
    return latlon(
        {
            "u": (20 * np.cos(phi) ** 2 + 5 * np.sin(3 * lam) * np.cos(phi), "m/s"),
            "v": (8 * np.sin(2 * phi) * np.cos(2 * lam), "m/s"),
            "theta": (300 - 30 * np.sin(phi) ** 2 + 2 * np.cos(4 * lam), "K"),
            "z": (5500 + 300 * np.cos(phi) ** 3 + 20 * np.sin(2 * lam), "m"),
        },
        lat,
        LON,
    )


@pytest.mark.parametrize("make", [random_fields, analytic_fields], ids=["random", "analytic"])
def test_metpy_on_a_quarter_degree_sphere(make):
    ds = make(LAT)
    geo = dict(geospatial=True, edge_order=2)
    for name in (*WINDS, "absolute_vorticity"):
        close_to_scale(getattr(daskgrad, name)(ds.u, ds.v, **geo), metpy(name, ds.u, ds.v), 1e-4)
    close_to_scale(
        daskgrad.advection(ds.theta, ds.u, ds.v, **geo),
        metpy("advection", ds.theta, ds.u, ds.v),
        1e-4,
    )
    close_to_scale(
        daskgrad.frontogenesis(ds.theta, ds.u, ds.v, **geo),
        metpy("frontogenesis", ds.theta, ds.u, ds.v),
        1e-4,
    )
    nh = make(NH)
    for ours, ref in zip(
        daskgrad.geostrophic_wind(nh.z, **geo), metpy("geostrophic_wind", nh.z), strict=True
    ):
        close_to_scale(ours, ref, 1e-4)
    for ours, ref in zip(
        daskgrad.ageostrophic_wind(nh.z, nh.u, nh.v, **geo),
        metpy("ageostrophic_wind", nh.z, nh.u, nh.v),
        strict=True,
    ):
        close_to_scale(ours, ref, 1e-4)


def test_metpy_coriolis_parameter():
    lat = np.linspace(-90, 90, 13)
    ref = metpy("coriolis_parameter", lat * mpu.degree)
    ours = daskgrad.coriolis_parameter(lat * mpu.degree)
    assert ours.units == ref.units
    np.testing.assert_allclose(ours.magnitude, ref.magnitude, rtol=1e-15, atol=1e-20)
    np.testing.assert_allclose(daskgrad.coriolis_parameter(np.radians(lat)), ref.magnitude)
    f = daskgrad.coriolis_parameter(xr.DataArray(lat, dims="lat", attrs={"units": "degrees"}))
    np.testing.assert_allclose(f.values, ref.magnitude)
    assert (f.name, f.attrs["units"], f.attrs["standard_name"]) == (
        "f",
        "s-1",
        "coriolis_parameter",
    )


# --- MetPy on a Cartesian grid ------------------------------------------------------------------


def cartesian(seed=1, shape=(2, 17, 23)):
    rng = np.random.default_rng(seed)
    u, v, t = rng.standard_normal((3, *shape))
    z = 5500 + 30 * rng.standard_normal(shape)
    lat = np.radians(np.linspace(20, 50, shape[-2]))[:, None] * np.ones(shape[-1])
    return u * 10, v * 10, 300 + t, z, lat


def test_metpy_cartesian_quantities():
    u, v, t, z, lat = cartesian()
    dx, dy = 1500.0 * mpu.m, 2.5 * mpu.km
    U, V, T, Z = u * mpu("m/s"), v * mpu("m/s"), t * mpu.K, z * mpu.m
    ours = dict(spacing=[dx, dy], edge_order=2)
    ref = dict(dx=dx, dy=dy)
    la = lat * mpu.radian
    pairs = [(getattr(daskgrad, n)(U, V, **ours), metpy(n, U, V, **ref)) for n in WINDS]
    pairs += [
        (
            daskgrad.absolute_vorticity(U, V, latitude=la, **ours),
            metpy("absolute_vorticity", U, V, latitude=la, **ref),
        ),
        (daskgrad.advection(T, U, V, **ours), metpy("advection", T, U, V, **ref)),
        (daskgrad.frontogenesis(T, U, V, **ours), metpy("frontogenesis", T, U, V, **ref)),
        *zip(
            daskgrad.geostrophic_wind(Z, latitude=la, **ours),
            metpy("geostrophic_wind", Z, latitude=la, **ref),
            strict=True,
        ),
        *zip(
            daskgrad.geostrophic_wind(Z * G * mpu("m/s**2"), latitude=la, **ours),
            metpy("geostrophic_wind", Z, latitude=la, **ref),
            strict=True,
        ),
        *zip(
            daskgrad.ageostrophic_wind(Z, U, V, latitude=la, **ours),
            metpy("ageostrophic_wind", Z, U, V, latitude=la, **ref),
            strict=True,
        ),
    ]
    for ours_q, ref_q in pairs:
        assert ours_q.dimensionality == ref_q.dimensionality
        ours_m = ours_q.to(ref_q.units).magnitude
        np.testing.assert_allclose(
            ours_m, ref_q.magnitude, rtol=1e-10, atol=1e-10 * abs(ref_q.magnitude).max()
        )


def test_metpy_cartesian_plain_arrays_and_dask_agree():
    u, v, t, z, lat = cartesian()
    dx, dy = 1500.0, 2500.0
    opts = dict(spacing=[dx, dy], edge_order=2)
    ref = metpy(
        "frontogenesis", t * mpu.K, u * mpu("m/s"), v * mpu("m/s"), dx=dx * mpu.m, dy=dy * mpu.m
    )
    chunked = [da.from_array(a, chunks=(1, 6, 7)) for a in (t, u, v)]
    for args in ((t, u, v), chunked):
        out = daskgrad.frontogenesis(*args, **opts)
        np.testing.assert_allclose(
            np.asarray(out), ref.magnitude, rtol=1e-10, atol=1e-10 * abs(ref.magnitude).max()
        )
    ug, _ = daskgrad.geostrophic_wind(da.from_array(z, chunks=5), latitude=lat, **opts)
    ref_ug, _ = metpy(
        "geostrophic_wind", z * mpu.m, dx=dx * mpu.m, dy=dy * mpu.m, latitude=lat * mpu.radian
    )
    np.testing.assert_allclose(ug.compute(), ref_ug.magnitude, rtol=1e-10)


# --- analytic fields on the sphere --------------------------------------------------------------


def sphere(lat, lon, **fields):
    phi, lam = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
    data = {k: (f(phi, lam), u) for k, (f, u) in fields.items()}
    return latlon(data, lat, lon, crs=False), phi, lam


def worst(ours, exact, scale):
    return float(np.nanmax(np.abs(values(ours) - exact))) / scale


@pytest.mark.parametrize("p", [2, 4])
def test_solid_body_rotation(p):
    U = 20.0
    ds, phi, _ = sphere(
        np.arange(-70, 70.1, 1.0),
        np.arange(0, 360, 1.0),
        u=(lambda ph, la: U * np.cos(ph) + 0 * la, "m/s"),
        v=(lambda ph, la: 0 * ph * la, "m/s"),
    )
    opts = dict(geospatial=True, accuracy=p, edge_order=2 if p == 2 else 1)
    h = np.radians(1.0)
    bound = (h**2 / 3 if p == 2 else h**4) * U / R * 1.0001  # ∂(cos φ)/∂φ's error at the edges
    for name in WINDS:
        assert worst(getattr(daskgrad, name)(ds.u, ds.v, **opts), 0.0, 1.0) <= bound, name
    absv = daskgrad.absolute_vorticity(ds.u, ds.v, **opts)
    assert worst(absv, 2 * (OMEGA + U / R) * np.sin(phi), 1.0) <= bound


def pure_strain(step, U=10.0):
    """The gradient of χ = (U R / 2)(λ² − y²), y = ln tan(π/4 + φ/2) (Mercator), harmonic on
    the sphere: u = U λ / cos φ, v = −U y / cos φ, with no divergence nor vorticity, stretching
    2U(sec²φ + y sec φ tan φ)/R and shearing 2U λ sec φ tan φ / R."""
    lat, lon = np.arange(20, 50.01, step), np.arange(-15, 15.01, step)
    merc = lambda ph: np.log(np.tan(np.pi / 4 + ph / 2))  # noqa: E731
    ds, phi, lam = sphere(
        lat,
        lon,
        u=(lambda ph, la: U * la / np.cos(ph), "m/s"),
        v=(lambda ph, la: -U * merc(ph) / np.cos(ph), "m/s"),
    )
    sec, y = 1 / np.cos(phi), merc(phi)
    stretch = 2 * U * (sec**2 + y * sec * np.tan(phi)) / R
    shear = 2 * U * lam * sec * np.tan(phi) / R
    return ds, {"stretching": stretch, "shearing": shear, "total": np.hypot(stretch, shear)}


def zonal_jet(step, U=30.0):
    """Z = (8ΩRU/g)(cos³φ/3 − cos⁵φ/5) is in geostrophic balance with the jet u = U sin²(2φ)."""
    lat, lon = np.arange(15, 75.01, step), np.arange(0, 360, step)
    k = 8 * OMEGA * R * U / G
    ds, phi, _ = sphere(
        lat,
        lon,
        z=(lambda ph, la: 5000 + k * (np.cos(ph) ** 3 / 3 - np.cos(ph) ** 5 / 5) + 0 * la, "m"),
    )
    return ds, U * np.sin(2 * phi) ** 2


STEPS = (2.0, 1.0, 0.5)


@pytest.mark.parametrize("p", [2, 4])
def test_pure_strain_and_geostrophic_jet_converge_at_order_p(p):
    opts = dict(geospatial=True, accuracy=p, edge_order=2 if p == 2 else 1)
    errors: dict[str, list[float]] = {}
    for step in STEPS:
        ds, exact = pure_strain(step)
        scale = 10.0 / R
        for name, key in zip(WINDS, ("shearing", "stretching", "total"), strict=True):
            got = getattr(daskgrad, name)(ds.u, ds.v, **opts)
            errors.setdefault(name, []).append(worst(got, exact[key], scale))
        for name in ("divergence", "vorticity"):
            errors.setdefault(name, []).append(
                worst(getattr(daskgrad, name)(ds.u, ds.v, **opts), 0, scale)
            )
        assert np.abs(exact["stretching"]).min() > scale  # not trivially zero
        jet, ug_exact = zonal_jet(step)
        ug, vg = daskgrad.geostrophic_wind(jet.z, **opts)
        errors.setdefault("ug", []).append(worst(ug, ug_exact, 30.0))
        assert worst(vg, 0.0, 30.0) <= 1e-9
    for key, e in errors.items():
        order = float(np.polyfit(np.log(STEPS), np.log(e), 1)[0])
        assert abs(order - p) <= 0.5, (key, order, e)
        assert e[-1] <= (3e-3 if p == 2 else 1e-5), (key, e)


# --- laziness, tasks, dtypes --------------------------------------------------------------------


def dask_dataset(chunks={"lat": 7, "lon": 9}, dtype=np.float64):  # noqa: B006
    ds = analytic_fields(np.arange(10.0, 30.01, 0.5)).metpy.dequantify()
    ds = ds.drop_vars("metpy_crs", errors="ignore").astype(dtype)
    return ds.chunk(chunks)


def each(out):
    return out if isinstance(out, tuple) else (out,)


def all_of(ds, **opts):
    return {
        **{n: getattr(daskgrad, n)(ds.u, ds.v, **opts) for n in WINDS},
        "absolute_vorticity": daskgrad.absolute_vorticity(ds.u, ds.v, **opts),
        "advection": daskgrad.advection(ds.theta, ds.u, ds.v, **opts),
        "frontogenesis": daskgrad.frontogenesis(ds.theta, ds.u, ds.v, **opts),
        "geostrophic_wind": daskgrad.geostrophic_wind(ds.z, **opts),
        "ageostrophic_wind": daskgrad.ageostrophic_wind(ds.z, ds.u, ds.v, **opts),
    }


@pytest.mark.parametrize("geospatial", [True, False])
def test_building_the_graphs_computes_nothing_and_values_match_numpy(geospatial):
    ds = dask_dataset()
    with raise_if_dask_computes():
        lazy = all_of(ds, geospatial=geospatial, accuracy=4)
        f = daskgrad.coriolis_parameter(ds.lat)
    eager = all_of(ds.compute(), geospatial=geospatial, accuracy=4)
    assert f.chunks == ds.lat.chunks
    for name, out in lazy.items():
        for o, e in zip(each(out), each(eager[name]), strict=True):
            assert o.chunks == ds.u.chunks, name
            np.testing.assert_allclose(
                o.values, e.values, rtol=1e-13, atol=1e-13 * float(abs(e).max())
            )


def test_one_kernel_task_per_chunk_for_all_outputs(tmp_path):
    dask_dataset().to_zarr(tmp_path / "in.zarr")
    ds = xr.open_zarr(tmp_path / "in.zarr")
    n = ds.u.data.npartitions
    for name, out in all_of(ds, geospatial=True).items():
        outs = each(out)
        graph = {k: t for o in outs for k, t in dict(o.data.__dask_graph__()).items()}
        kernel = re.compile(rf"^{name}-[0-9a-f]+$")
        kernels = [k for k in graph if isinstance(k, tuple) and kernel.match(str(k[0]))]
        # the (a)geostrophic wind's two outputs are independent: on chunks this small (whole
        # neighbours, no planes) each has its own task per chunk, as gradient's partials
        per_chunk = len(outs) if name in ("geostrophic_wind", "ageostrophic_wind") else 1
        assert len(kernels) == per_chunk * n, (name, len(kernels), n)
        # per chunk: one task reads every input's chunk, one copies their ghost planes, one
        # computes, one broadcasts the latitude, one getitem per output of several
        assert len(graph) <= (4 + len(outs)) * n + 10, (name, len(graph) / n)


def test_float32_stays_float32():
    ds = dask_dataset(dtype=np.float32)
    ref = all_of(ds.astype(np.float64).compute(), geospatial=True)
    for name, out in all_of(ds, geospatial=True).items():
        for o, r in zip(each(out), each(ref[name]), strict=True):
            assert o.dtype == np.float32, name
            np.testing.assert_allclose(o.values, r.values, rtol=0, atol=2e-5 * float(abs(r).max()))
    lat = np.radians(np.array([10.0, 20.0], np.float32))
    assert daskgrad.coriolis_parameter(lat).dtype == np.float32


# --- NaN holes and masks ------------------------------------------------------------------------


def linear(shape=(9, 11)):
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    return x, y


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_nan_holes_with_omit_are_exact_on_linear_fields(kind):
    x, y = linear()
    u, v, t = 2 * x + 3 * y, -x + 0.5 * y, 4 * x - y
    hole = np.zeros(x.shape, bool)
    hole[4, 5] = hole[2, 2] = True
    u, t = np.where(hole, np.nan, u), np.where(hole, np.nan, t)
    wrap = (lambda a: da.from_array(a, chunks=(4, 5))) if kind == "dask" else (lambda a: a)
    opts = dict(nan_policy="omit", edge_order=2)
    # ∂u/∂x = 2, ∂u/∂y = 3, ∂v/∂x = −1, ∂v/∂y = 0.5, ∂t/∂x = 4, ∂t/∂y = −1
    exact = {
        "shearing_deformation": 2.0,
        "stretching_deformation": 1.5,
        "total_deformation": np.hypot(2.0, 1.5),
    }
    for name, e in exact.items():
        out = np.asarray(getattr(daskgrad, name)(wrap(u), wrap(v), **opts))
        np.testing.assert_allclose(out[~hole], e, rtol=1e-12)
        assert np.isnan(out[hole]).all()
    adv = np.asarray(daskgrad.advection(wrap(t), wrap(u), wrap(v), **opts))
    np.testing.assert_allclose(adv[~hole], -(u * 4 + v * -1)[~hole], rtol=1e-12)
    fgen = np.asarray(daskgrad.frontogenesis(wrap(t), wrap(u), wrap(v), **opts))
    fgen_exact = -(16 * 2 + 4 * -1 * (-1 + 3) + 1 * 0.5) / np.hypot(4, -1)
    np.testing.assert_allclose(fgen[~hole], fgen_exact, rtol=1e-12)
    assert np.isnan(fgen[hole]).all() and np.isnan(adv[hole]).all()


def test_masked_arrays_mask_every_touched_point():
    x, y = linear()
    u, v = np.sin(x) * y, np.cos(y) + x
    mask = np.zeros(x.shape, bool)
    mask[4, 5] = True
    lat = np.radians(30.0)
    plain = daskgrad.absolute_vorticity(u, v, latitude=lat)
    out = daskgrad.absolute_vorticity(np.ma.masked_array(u, mask), v, latitude=lat)
    touched = np.zeros(x.shape, bool)
    touched[[3, 5], 5] = True  # ∂u/∂y reads the rows above and below, not the point
    assert isinstance(out, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(out), touched)
    np.testing.assert_allclose(out.compressed(), plain[~touched], rtol=1e-14)
    ug, vg = daskgrad.geostrophic_wind(np.ma.masked_array(u, mask), latitude=lat)
    assert np.ma.getmaskarray(ug).sum() == 2 and np.ma.getmaskarray(vg).sum() == 2


# --- units, names, attributes -------------------------------------------------------------------


def test_names_units_and_standard_names():
    ds = analytic_fields(NH).metpy.dequantify().drop_vars("metpy_crs", errors="ignore")
    ds.u.attrs["standard_name"], ds.v.attrs["standard_name"] = "eastward_wind", "northward_wind"
    ds.z.attrs["standard_name"] = "geopotential_height"
    ds.theta.attrs["standard_name"] = "air_temperature"
    out = all_of(ds, geospatial=True)
    got = {
        n: [(o.name, o.attrs.get("units"), o.attrs.get("standard_name")) for o in each(x)]
        for n, x in out.items()
    }
    assert got == {
        "shearing_deformation": [("shear_def_u_v", "s-1", None)],
        "stretching_deformation": [("stretch_def_u_v", "s-1", None)],
        "total_deformation": [("total_def_u_v", "s-1", None)],
        "absolute_vorticity": [("abs_vort_u_v", "s-1", "atmosphere_absolute_vorticity")],
        "advection": [("adv_theta", "K s-1", "tendency_of_air_temperature_due_to_advection")],
        "frontogenesis": [("fgen_theta", "K m-1 s-1", None)],
        "geostrophic_wind": [
            ("ug_z", "m s-1", "geostrophic_eastward_wind"),
            ("vg_z", "m s-1", "geostrophic_northward_wind"),
        ],
        "ageostrophic_wind": [("ageo_u_z", "m s-1", None), ("ageo_v_z", "m s-1", None)],
    }
    assert "frontogenesis of theta, with winds u and v" in out["frontogenesis"].attrs["long_name"]
    # a geopotential gives the same wind as its height
    phi = (ds.z * G).assign_attrs(units="m2 s-2")
    ug, _ = daskgrad.geostrophic_wind(phi, geospatial=True)
    np.testing.assert_allclose(ug, out["geostrophic_wind"][0], rtol=1e-11)
    # Cartesian, without the wind's standard names: no CF name
    ds.u.attrs.pop("standard_name")
    assert "standard_name" not in daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True).attrs


def test_quantities_keep_their_registry_and_mix_with_metpy():
    fresh = pint.UnitRegistry()
    x, y = linear()
    out = daskgrad.frontogenesis(
        x * fresh.K, -x * fresh("m/s"), y * fresh("m/s"), spacing=1.0 * fresh.m
    )
    assert out._REGISTRY is fresh and out.units == fresh("K / m / s").units
    # a DataArray of MetPy Quantities: results stay Quantities of MetPy's registry
    ds = analytic_fields(NH).metpy.quantify()
    absv = daskgrad.absolute_vorticity(ds.u, ds.v, geospatial=True, edge_order=2)
    assert absv.data._REGISTRY is (1.0 * mpu.m)._REGISTRY
    close_to_scale(absv.data, metpy("absolute_vorticity", ds.u, ds.v).data, 1e-4)
    # units daskgrad reads from attrs live in the application registry, as MetPy's do
    plain = ds.metpy.dequantify()
    adv = daskgrad.advection(plain.theta, plain.u, plain.v, geospatial=True)
    q = adv.data * pint.get_application_registry().Unit(adv.attrs["units"])
    assert (q + 1.0 * mpu("K/s")).units == mpu("K/s").units  # no "different registries"


def test_accessor_by_variable_names():
    ds = analytic_fields(NH).metpy.dequantify().drop_vars("metpy_crs", errors="ignore")
    xr.testing.assert_identical(
        ds.grad.frontogenesis("theta", "u", "v", geospatial=True),
        daskgrad.frontogenesis(ds.theta, ds.u, ds.v, geospatial=True),
    )
    xr.testing.assert_identical(
        ds.grad.advection("theta", "u", "v", geospatial=True),
        daskgrad.advection(ds.theta, ds.u, ds.v, geospatial=True),
    )
    for a, b in zip(
        ds.z.grad.geostrophic_wind(geospatial=True),
        ds.grad.geostrophic_wind("z", geospatial=True),
        strict=True,
    ):
        xr.testing.assert_identical(a, b)
    with pytest.raises(TypeError, match="Dataset"):
        ds.u.grad.frontogenesis("theta", "u", "v")


# --- bad input ----------------------------------------------------------------------------------


def test_errors_name_the_argument():
    x, y = linear()
    with pytest.raises(ValueError, match=r"frontogenesis: v has shape \(8, 11\) but theta"):
        daskgrad.frontogenesis(x, x, y[:-1])
    with pytest.raises(ValueError, match="absolute_vorticity needs latitude="):
        daskgrad.absolute_vorticity(x, y)
    with pytest.raises(ValueError, match="latitude reaches 45, beyond π/2"):
        daskgrad.geostrophic_wind(x, latitude=45.0)
    with pytest.raises(ValueError, match=r"latitude has shape \(3,\)"):
        daskgrad.geostrophic_wind(x, latitude=np.zeros(3))
    with pytest.raises(ValueError, match="height has units second"):
        daskgrad.geostrophic_wind(x * mpu.s, latitude=0.5, spacing=mpu.m)
    with pytest.raises(ValueError, match="advection: scalar is a Quantity but u has no units"):
        daskgrad.advection(x * mpu.K, x, y)
    with pytest.raises(ValueError, match="vertical_dim: -3 is not an axis of the 2-dim"):
        daskgrad.advection(x, x, y, w=x)
    with pytest.raises(TypeError, match="omega must be a number"):
        daskgrad.absolute_vorticity(x, y, latitude=0.5, omega="fast")
    ds = xr.Dataset({"u": (("y", "x"), x), "v": (("x", "y"), y.T)})
    with pytest.raises(ValueError, match=r"shearing_deformation: u has dims \('y', 'x'\) but v"):
        daskgrad.shearing_deformation(ds.u, ds.v)
    with pytest.raises(ValueError, match="absolute_vorticity needs the latitude of every point"):
        daskgrad.absolute_vorticity(ds.u, ds.v.T)
    with pytest.raises(ValueError, match="latitude='nope' is not a coordinate"):
        daskgrad.absolute_vorticity(ds.u, ds.v.T, latitude="nope")
    with pytest.raises(ValueError, match="frontogenesis: coordinate 'x' is on theta only"):
        daskgrad.frontogenesis(ds.u.assign_coords(x=np.arange(11)), ds.u.rename("u"), ds.v.T)
