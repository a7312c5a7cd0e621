"""CF metadata of a grid: latitude/longitude and projection coordinates, the grid-mapping
variable and its CRS (pyproj), the earth it gives."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import xarray as xr

from ..core import earth as m
from ..errors import OptionError, warn_caller
from . import units as units_pint

LAT_NAMES = ("lat", "latitude", "nav_lat")
LON_NAMES = ("lon", "longitude", "nav_lon")
_PROJECTION = {"x": "projection_x_coordinate", "y": "projection_y_coordinate"}
_ROTATED = {"x": "grid_longitude", "y": "grid_latitude"}
_ROTATED_NAMES = {"x": ("rlon", "x"), "y": ("rlat", "y")}
METRES = {"m": 1.0, "metre": 1.0, "meter": 1.0, "metres": 1.0, "meters": 1.0, "km": 1e3}
METRES.update({"kilometre": 1e3, "kilometer": 1e3, "kilometres": 1e3, "kilometers": 1e3})


# --- finding the coordinates and the CRS --------------------------------------------------------


def find_coordinate(
    obj, given, what: str, names: tuple[str, ...], memo: dict[str, Any] | None = None
) -> Hashable:
    """The name of ``obj``'s latitude or longitude coordinate (``what``): ``given``, or found by
    its CF attributes, or by one of ``names``; ``memo`` keeps cf_xarray's findings for the next
    call on the same ``obj`` (latitude then longitude)."""
    variables = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
    if given is not None:
        if given not in variables:
            raise OptionError(
                what,
                f"{{opt:{what}={given!r}}} is not a coordinate of the input; its coordinates "
                f"are {list(obj.coords)}",
            )
        return given
    pools = [obj.coords]
    if isinstance(obj, xr.Dataset):  # 2-D lat/lon stored as data variables
        pools.append(obj.data_vars)
    for pool in pools:
        found = _cf_candidates(obj, pool, what, memo) or [n for n in names if n in pool]
        if len(found) == 1:
            return found[0]
        if found:
            raise OptionError(
                what, f"several {what} coordinates: {found}; pass {{opt:{what}=NAME}}, one of them"
            )
    raise OptionError(
        what,
        f"no {what} coordinate found: none has CF attributes (standard_name {what!r}, units "
        f"'degrees_{'north' if what == 'latitude' else 'east'}') nor one of the names "
        f"{list(names)}; the input's coordinates are {list(obj.coords)}; pass "
        f"{{opt:{what}=NAME}}",
    )


def _cf_candidates(obj, pool, what: str, memo: dict[str, Any] | None = None) -> list[Hashable]:
    try:
        import cf_xarray  # noqa: F401
    except ImportError:
        return []
    data_vars = isinstance(obj, xr.Dataset) and pool is not obj.coords
    key = "data_vars" if data_vars else "coords"
    coordinates = None if memo is None else memo.get(key)
    if coordinates is None:
        if data_vars:
            obj = obj.set_coords(list(pool))
        coordinates = obj.cf.coordinates  # every key at once: the costly part, done once
        if memo is not None:
            memo[key] = coordinates
    return [n for n in coordinates.get(what, []) if n in pool]


def latlon_names(obj) -> set[Hashable]:
    found = set()
    memo: dict[str, Any] = {}
    for what, names in (("latitude", LAT_NAMES), ("longitude", LON_NAMES)):
        with contextlib.suppress(ValueError):  # absent or ambiguous: not a lat/lon name
            found.add(find_coordinate(obj, None, what, names, memo))
    return found


def true_latlon(obj) -> tuple[Hashable | None, Hashable | None]:
    """The names of ``obj``'s latitude and longitude coordinates (or a Dataset's variables)
    named lat/latitude/nav_lat (lon/longitude/nav_lon) or of ``standard_name``
    latitude (longitude): those the kinematics take f from without being asked. Each is None
    when absent or not one."""
    variables = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
    found: list[Hashable | None] = []
    for what, names in (("latitude", LAT_NAMES), ("longitude", LON_NAMES)):
        hits = [
            n for n, c in variables.items() if n in names or c.attrs.get("standard_name") == what
        ]
        found.append(hits[0] if len(hits) == 1 else None)
    return found[0], found[1]


def projection_xy(obj, x, y, have_crs: bool) -> tuple[Hashable, Hashable] | None:
    """Names of the projection x/y coordinates: given, or by standard_name, or (with a
    projected CRS) the coordinates of dims named x and y."""
    if x is not None or y is not None:
        for name, what in ((x, "x"), (y, "y")):
            if name is None or name not in obj.coords:
                raise OptionError(
                    what,
                    f"{{opt:{what}={name!r}}} is not a coordinate of the input; its coordinates "
                    f"are {list(obj.coords)}"
                    + ("" if name is not None else " (give {opt:x} and {opt:y} together)"),
                )
        return x, y
    found = []
    for what in ("x", "y"):
        hits = [
            n for n, c in obj.coords.items() if c.attrs.get("standard_name") == _PROJECTION[what]
        ]
        if len(hits) > 1:
            raise OptionError(
                what, f"several projection {what} coordinates: {hits}; pass {{opt:{what}=NAME}}"
            )
        if not hits and have_crs:
            hits = [n for n in (what, what.upper()) if n in obj.coords and obj[n].dims == (n,)]
        found.append(hits[0] if hits else None)
    if found[0] is None or found[1] is None:
        return None
    return found[0], found[1]


# --- rotated-pole grids ---------------------------------------------------------------------------


def rotated_pole(crs: Any, source: str | None) -> dict[str, float] | None:
    """The pole of a rotated-pole CRS (CF ``rotated_latitude_longitude``, PROJ's ``ob_tran``
    with ``o_proj=longlat``): ``pole_latitude``, ``pole_longitude``, ``pole_grid_longitude``
    in degrees; None for any other CRS (or none). ValueError for an oblique longlat pyproj
    cannot describe with CF's three angles."""
    if crs is None or not crs.is_geographic:
        return None
    op = crs.coordinate_operation
    oblique = op is not None and "ob_tran" in (op.method_name or "")
    try:
        cf = crs.to_cf()
    except Exception:
        cf = {}
    if cf.get("grid_mapping_name") != "rotated_latitude_longitude":
        if oblique:
            raise ValueError(
                f"the CRS {source} is an oblique transformation ({op.method_name}) that is not "
                "a CF rotated pole: give the pole as grid_north_pole_latitude/longitude "
                "(PROJ's o_lat_p, o_lon_p and lon_0)"
            )
        return None
    return {
        "pole_latitude": float(cf["grid_north_pole_latitude"]),
        "pole_longitude": float(cf["grid_north_pole_longitude"]),
        "pole_grid_longitude": float(cf.get("north_pole_grid_longitude", 0.0) or 0.0),
    }


def rotated_xy(obj, x, y, source: str | None) -> tuple[Hashable, Hashable]:
    """Names of a rotated-pole grid's longitude and latitude coordinates: given, or by
    ``standard_name`` (``grid_longitude``/``grid_latitude``), or named rlon/rlat (or x/y)
    on dims of their own; ValueError naming the data's coordinates when absent."""
    if x is not None or y is not None:
        return projection_xy(obj, x, y, True) or (x, y)
    found = []
    for what in ("x", "y"):
        hits = [
            n
            for n, c in obj.coords.items()
            if c.attrs.get("standard_name") == _ROTATED[what] and c.ndim == 1
        ]
        if not hits:
            hits = [n for n in _ROTATED_NAMES[what] if n in obj.coords and obj[n].dims == (n,)]
        if len(hits) > 1:
            raise OptionError(
                what,
                f"several rotated-pole grid {_ROTATED[what].split('_')[1]} coordinates: {hits}; "
                f"pass {{opt:{what}=NAME}}",
            )
        found.append(hits[0] if hits else None)
    if found[0] is None or found[1] is None:
        raise ValueError(
            f"the CRS {source} is a rotated pole but the data has no rotated longitude/latitude "
            "coordinates (1-D, standard_name grid_longitude/grid_latitude, or named rlon/rlat, "
            f"in degrees); its coordinates are {list(obj.coords)}; name them, or name 2-D true "
            "latitude/longitude coordinates to differentiate on those (winds eastward/northward)"
        )
    return found[0], found[1]


def check_rotated(pole: Any, crs: Any, source: str | None) -> None:
    """ValueError unless the closed form of ``pole`` (a
    :class:`daskgrad.core.rotated.RotatedPole`) puts a few grid points where pyproj's
    transformation of ``crs`` to true longitude/latitude does (to 1e-9 degrees); a pair that
    passed is not checked again in the process."""
    import numpy as np
    import pyproj

    key = (crs.to_wkt(), pole.pole_latitude, pole.pole_longitude, pole.pole_grid_longitude)
    if key in _ROTATED_OK:
        return
    ell = crs.ellipsoid
    true = pyproj.CRS.from_dict(
        {"proj": "longlat", "a": ell.semi_major_metre, "b": ell.semi_minor_metre}
    )
    lam = np.array([0.0, 37.0, -121.0, 179.0, 5.0])
    phi = np.array([0.0, 41.0, -63.0, 12.0, -88.0])
    lon, lat = pyproj.Transformer.from_crs(crs, true, always_xy=True).transform(lam, phi)
    mine_lon, mine_lat = (np.degrees(a) for a in pole.to_true(np.radians(lam), np.radians(phi)))
    off = np.maximum(np.abs(mine_lat - lat), np.abs((mine_lon - lon + 180) % 360 - 180))
    if not np.all(off[np.isfinite(off)] < 1e-9) or not np.all(np.isfinite(off)):
        raise ValueError(
            f"the rotated pole {source} ({crs.name!r}) is not one daskgrad's closed form "
            f"reproduces (pyproj's points differ by up to {np.nanmax(off):.3g} degrees)"
        )
    if len(_ROTATED_OK) < 64:
        _ROTATED_OK.add(key)


_ROTATED_OK: set[tuple[Any, ...]] = set()  # (CRS, pole) pairs check_rotated passed


def rotated_earth(earth, radius, crs, source) -> tuple[m.Earth, str]:
    """The sphere of a rotated-pole grid: the CRS's when it is a sphere (``earth``/``radius``
    then must agree with it); else (a CF rotated pole without earth attributes gets pyproj's
    WGS84) ``radius`` or the default sphere. OptionError naming ``earth`` for "wgs84"."""
    if crs.ellipsoid.inverse_flattening == 0:
        return data_earth(earth, radius, crs, source, rotated=True)
    said = f"the CRS's {crs.ellipsoid.name} is not a sphere"
    sphere, _ = data_earth(earth, radius, None, source, rotated=True)
    return sphere, f"{'{opt:radius}' if radius is not None else 'default'}; {said}"


def unattached_mapping(obj) -> Hashable | None:
    """The grid mapping a DataArray's attrs (or encoding) name when it is not among its
    coords (its CRS is then unknown), else None."""
    if not isinstance(obj, xr.DataArray):
        return None
    name = mapping_name(obj.attrs.get("grid_mapping", obj.encoding.get("grid_mapping")))
    return None if name is None or name in obj.coords else name


def mapping_of(da_: xr.DataArray) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``grid_mapping`` a result on ``da_``'s grid carries: ``(attrs, encoding)`` each
    with ``da_``'s reference where it has one (attrs as read; encoding as xarray's
    ``decode_coords="all"`` leaves it), so that the result is placed as its input."""
    return (
        {k: da_.attrs[k] for k in ("grid_mapping",) if k in da_.attrs},
        {k: da_.encoding[k] for k in ("grid_mapping",) if k in da_.encoding},
    )


def mapping_name(ref: Any) -> Hashable | None:
    """The variable a ``grid_mapping`` attribute names (its first, in CF's extended form
    ``"crs: x y"``), or None."""
    if not (isinstance(ref, str) and ref.strip()):
        return None
    return ref.split(":")[0].split()[0]


def grid_mapping(obj) -> tuple[Hashable, dict[str, Any]] | None:
    """The CF grid-mapping variable the data's variables name (attrs or, as xarray's
    ``decode_coords="all"`` leaves it, encoding): its name and attrs."""
    variables = [obj] if isinstance(obj, xr.DataArray) else list(obj.data_vars.values())
    pool = obj.coords if isinstance(obj, xr.DataArray) else obj.variables
    names: dict[Hashable, xr.DataArray | None] = {}  # each name, and a variable naming it
    for v in variables:
        ref = v.attrs.get("grid_mapping", v.encoding.get("grid_mapping"))
        if isinstance(ref, str) and ref.strip():
            names.setdefault(ref.split(":")[0].split()[0], v)
    if not names:
        found = [n for n, c in pool.items() if "grid_mapping_name" in c.attrs]
        names = dict.fromkeys(found[:1]) if len(found) == 1 else {}
    if len(names) > 1:
        raise ValueError(f"the variables name several grid mappings {list(names)}; select one")
    if not names:
        return None
    (name,) = names
    if name not in pool:
        if isinstance(obj, xr.DataArray):
            warn_caller(
                f"{what_var(obj)} names grid_mapping {name!r}, which is not among its coords: "
                "its CRS and earth are not used (pass the Dataset, open it with "
                "decode_coords='all', or pass crs=)"
            )
            return None
        named_by = names[name]
        raise OptionError(
            "crs",
            f"{'the data' if named_by is None else what_var(named_by)} names grid_mapping "
            f"{name!r}, which is not in the dataset: add the grid-mapping variable {name!r}, "
            "or drop the grid_mapping attribute and pass {opt:crs}",
        )
    return name, dict(pool[name].attrs)


def absent_grid_mapping(obj) -> Hashable | None:
    """The grid-mapping variable a DataArray names that is not among its coordinates (as
    ``xr.open_dataset`` without ``decode_coords="all"`` leaves it), else None.

    Examples
    --------
    >>> import xarray as xr
    >>> absent_grid_mapping(xr.DataArray([1.0], attrs={"grid_mapping": "crs"}))
    'crs'
    """
    if not isinstance(obj, xr.DataArray):
        return None
    ref = obj.attrs.get("grid_mapping", obj.encoding.get("grid_mapping"))
    if not (isinstance(ref, str) and ref.strip()):
        return None
    name = ref.split(":")[0].split()[0]
    return None if name in obj.coords else name


def data_crs(obj, crs) -> tuple[Any, str | None]:
    """The CRS (pyproj) of the data or of ``crs``, and where it came from."""
    mapping = grid_mapping(obj)
    if crs is None and mapping is None:
        return None, None
    import pyproj

    data = None
    if mapping is not None:
        mapping_earth(*mapping)
        try:
            data = crs_from_cf(mapping[1])
        except Exception as err:
            raise ValueError(
                f"grid_mapping {mapping[0]!r} does not describe a CRS pyproj knows: {err}"
            ) from None
        mapping_earth(*mapping, data)
    if crs is None:
        return data, f"from grid_mapping {mapping[0]!r}" if mapping else None
    try:
        given = crs_from_cf(crs) if isinstance(crs, dict) else pyproj.CRS.from_user_input(crs)
    except Exception as err:
        raise OptionError(
            "crs", f"{{opt:crs}} is not a CRS pyproj knows ({crs!r}): {err}"
        ) from None
    if mapping is not None and data is not None and not given.equals(data, ignore_axis_order=True):
        raise OptionError(
            "crs",
            f"{{opt:crs}} ({crs_words(given)}) contradicts grid_mapping {mapping[0]!r} of the "
            f"data ({crs_words(data)}); drop one",
        )
    return given, "from crs="


def crs_words(crs: Any) -> str:
    """A CRS in a few words, quoted: its name, or where pyproj names it 'unknown' or
    'undefined' (a CRS built from CF attributes) its projection method and PROJ string.

    Examples
    --------
    >>> import pyproj
    >>> crs_words(pyproj.CRS.from_cf({"grid_mapping_name": "mercator",
    ...     "standard_parallel": 20.0, "earth_radius": 6371229.0}))
    "'Mercator (variant B)' (+proj=merc +lat_ts=20 +lon_0=0 +x_0=0 +y_0=0 +R=6371229 +units=m)"
    """
    name = getattr(crs, "name", None)
    if name and name not in ("unknown", "undefined"):
        return repr(name)
    op = getattr(crs, "coordinate_operation", None)
    method = getattr(op, "method_name", None)
    try:
        with warnings.catch_warnings():  # pyproj's "you will likely lose information"
            warnings.simplefilter("ignore")
            text = crs.to_proj4()
        text = " ".join(t for t in text.split() if t not in ("+no_defs", "+type=crs"))
    except Exception:  # a CRS PROJ strings cannot spell
        text = crs.to_string()
    return f"{method!r} ({text})" if method else repr(text)


_EARTH_RTOL = 1e-7  # of the axes' lengths: 0.6 m, far above the rounding of written values


# pyproj.CRS.from_cf of grid-mapping attributes already seen in the process: a CF mapping
# without a datum name makes pyproj search its database (~0.3-0.9 s for a rotated pole), each
# function's own Grid again. CRSs are immutable; a few are kept.
_FROM_CF: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_FROM_CF_SIZE = 16
_FROM_CF_LOCK = threading.Lock()


def crs_from_cf(attrs: dict[str, Any]) -> Any:
    """``pyproj.CRS.from_cf(attrs)``, kept for the next grid of the same attributes.

    Examples
    --------
    >>> a = {"grid_mapping_name": "mercator", "standard_parallel": 20.0, "earth_radius": 6.371e6}
    >>> crs_from_cf(a) is crs_from_cf(dict(a))
    True
    """
    import numpy as np
    import pyproj

    key = tuple(
        sorted((str(k), type(v).__name__, repr(np.asarray(v).tolist())) for k, v in attrs.items())
    )
    with _FROM_CF_LOCK:
        found = _FROM_CF.get(key)
        if found is not None:
            _FROM_CF.move_to_end(key)
            return found
    crs = pyproj.CRS.from_cf(attrs)
    with _FROM_CF_LOCK:
        _FROM_CF[key] = crs
        while len(_FROM_CF) > _FROM_CF_SIZE:
            _FROM_CF.popitem(last=False)
    return crs


def mapping_earth(name: Hashable, attrs: dict[str, Any], crs: Any = None) -> None:
    """ValueError naming both attributes when a grid mapping's earth attributes
    (``earth_radius``, ``semi_major_axis``, ``semi_minor_axis``, ``inverse_flattening``)
    contradict each other, or, given the CRS pyproj built (from ``crs_wkt`` when present),
    contradict it: pyproj would silently use one of them, or make up an ellipsoid."""
    got: dict[str, float] = {}
    for key in ("earth_radius", "semi_major_axis", "semi_minor_axis", "inverse_flattening"):
        if key in attrs:
            try:
                got[key] = float(attrs[key])
            except (TypeError, ValueError):
                raise ValueError(
                    f"grid_mapping {name!r} attribute {key}={attrs[key]!r} is not a number"
                ) from None
    # the semi-axes (a, b) each attribute implies
    axes: list[tuple[str, str, float]] = []  # (attribute, "a" or "b", metres)
    if "earth_radius" in got:
        axes += [
            ("earth_radius", "a", got["earth_radius"]),
            ("earth_radius", "b", got["earth_radius"]),
        ]
    if "semi_major_axis" in got:
        axes.append(("semi_major_axis", "a", got["semi_major_axis"]))
    if "semi_minor_axis" in got:
        axes.append(("semi_minor_axis", "b", got["semi_minor_axis"]))
    inv_f = got.get("inverse_flattening")
    major = got.get("semi_major_axis", got.get("earth_radius"))
    if inv_f is not None and major is not None:
        b = major if inv_f == 0 else major * (1 - 1 / inv_f)
        axes.append(("inverse_flattening", "b", b))
    if crs is not None and "crs_wkt" in attrs:
        ell = crs.ellipsoid
        axes += [("crs_wkt", "a", ell.semi_major_metre), ("crs_wkt", "b", ell.semi_minor_metre)]
    for i, (k1, ax1, v1) in enumerate(axes):
        for k2, ax2, v2 in axes[i + 1 :]:
            if k1 != k2 and ax1 == ax2 and abs(v1 - v2) > _EARTH_RTOL * max(abs(v1), abs(v2)):
                what = "semi-major" if ax1 == "a" else "semi-minor"
                shown = {k: attrs[k] for k in (k1, k2) if k != "crs_wkt"}
                said = ", ".join(f"{k}={v!r}" for k, v in shown.items())
                raise ValueError(
                    f"grid_mapping {name!r}: {k1} and {k2} contradict each other ({said}; "
                    f"{what} axes {v1:.10g} m and {v2:.10g} m): keep one description of the "
                    "earth"
                )


def data_earth(earth, radius, crs, source, rotated=False) -> tuple[m.Earth, str]:
    """The earth model: the CRS's, unless ``earth``/``radius`` say otherwise (then they must
    agree with it); without a CRS, ``earth``/``radius`` or the default sphere. A translation
    of the CRS into the earth it holds, for the one check of ``earth`` (and ``radius``),
    ``core.earth.make_earth``; ``rotated``: a rotated-pole grid's, which is a sphere. The
    second item says where the earth comes from, its options as ``errors.Worded`` fields."""
    if crs is None:  # named as given: the command line has --earth only
        given = [f"{{opt:{k}}}" for k, v in (("earth", earth), ("radius", radius)) if v is not None]
        how = "/".join(given) or "default"
        return m.make_earth(earth, radius, source=source, rotated=rotated), how
    ell = crs.ellipsoid
    data = m.ellipsoid(ell.semi_major_metre, ell.inverse_flattening)
    return m.make_earth(earth, radius, data=data, source=source, rotated=rotated), source


def angle(c: Any) -> Any:
    """A latitude/longitude coordinate holding a pint Quantity as degrees with a units attr."""
    _, unit = units_pint.split(c.data)
    if unit is None:
        return c
    try:
        degrees = c.data.to(unit._REGISTRY.degree).magnitude
    except Exception:
        raise ValueError(f"coordinate {c.name!r} has units {unit}, which is not an angle") from None
    return c.copy(data=degrees).assign_attrs(units="degrees")


def what_var(da_: xr.DataArray) -> str:
    """ "the data", or "variable 'NAME'" in messages."""
    return "the data" if da_.name is None else f"variable {da_.name!r}"
