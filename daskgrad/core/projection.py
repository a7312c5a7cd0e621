"""Map factors of projected grids (pyproj): scales, their derivatives and the meridian
convergence, per horizontal chunk of the projection's x and y coordinates (metres)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .metric import Factors

# Offset (metres) of the central differences that give the derivatives of the map factors:
# small against the scale on which they vary (hundreds of km), large against the noise of
# pyproj's factors (~1e-12): truncation and noise both ~1e-8 of the derivative.
_DELTA = 500.0
# Distances tabulated from a conic's apex for a large chunk (see Projection._radial)
_NODES = 1 << 14
# Bytes of factors kept per projection: the chunks of a grid reused by the next operator.
_CACHE_BYTES = 1 << 28

NAMES = ("k", "h", "cos", "sin", "dk_dy", "dh_dx", "lx", "ly")


class Projection:
    """A projected CRS and its map factors at grid points.

    ``parallel_scale`` k and ``meridional_scale`` h (pyproj's ``Proj.get_factors``, the
    factors MetPy's map-factor formulas take for the x and y axes), their derivatives along
    the projection's x and y, and the angle γ of the meridian convergence (pyproj's sign:
    true north points along ``(-sin γ, cos γ)`` in grid x/y).

    Examples
    --------
    >>> import pyproj
    >>> p = Projection(pyproj.CRS("+proj=merc +R=6371000"))
    >>> f = p.factors(np.array([0.0]), np.array([0.0, 1e6]))
    >>> np.round(f["k"][:, 0], 6), f["cos"][:, 0]  # cosh(y / R), no convergence
    (array([1.      , 1.012344]), array([1., 1.]))
    """

    def __init__(self, crs: Any) -> None:
        import pyproj

        self.crs = crs
        self._proj = pyproj.Proj(crs)
        self.unit = axis_metres(crs)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], dict[str, np.ndarray]] = OrderedDict()
        self.evaluations = 0  # chunks whose factors were computed (a count the tests check)
        self.conformal = self._is_conformal()
        self.closed: dict[str, Any] | None = self._closed_form()

    def __getstate__(self) -> dict[str, Any]:
        # sent to dask workers: the CRS, not the lock, the PROJ handle or the cache
        return {"crs": self.crs, "conformal": self.conformal, "closed": self.closed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import pyproj

        self.crs, self.conformal, self.closed = state["crs"], state["conformal"], state["closed"]
        self._proj = pyproj.Proj(self.crs)
        self.unit = axis_metres(self.crs)
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self.evaluations = 0

    def _is_conformal(self) -> bool:
        """True when pyproj finds no angular distortion at a few points of the projection's
        area (Lambert conformal conic, stereographic, Mercator, transverse Mercator, ...)."""
        x = np.array([-2e5, 0.0, 3e5])
        with np.errstate(all="ignore"):
            k, h, *_ = self._scales(x, x[::-1])
        ok = np.isfinite(k) & np.isfinite(h)
        return bool(ok.any() and np.allclose(k[ok], h[ok], rtol=1e-9))

    def lonlat(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude (degrees) of the points (x, y), in metres whatever the
        unit of the CRS's axes (``+units=km``: the coordinates are divided by 1000 for PROJ)."""
        u = self.unit
        lon, lat = self._proj(np.divide(x, u), np.divide(y, u), inverse=True, errcheck=False)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def _xy(self, lon: Any, lat: Any) -> np.ndarray:
        """Projected x, y in metres of (lon, lat) in degrees."""
        return np.array(self._proj(lon, lat, errcheck=False), dtype=np.float64) * self.unit

    def _scales(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """k, h and γ (radians) at the points (x, y) (arrays of one shape, metres)."""
        lon, lat = self.lonlat(x, y)
        f = self._proj.get_factors(lon, lat, errcheck=False)
        k = np.asarray(f.parallel_scale, dtype=np.float64)
        h = np.asarray(f.meridional_scale, dtype=np.float64)
        gamma = np.radians(np.asarray(f.meridian_convergence, dtype=np.float64))
        return k, h, gamma

    def factors(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Factors on the grid ``y × x`` (1-D coordinates in metres), each ``(ny, nx)``:
        k, h, cos and sin of the angle that turns grid components into eastward/northward
        (east = cos·gx − sin·gy, north = sin·gx + cos·gy, i.e. the angle −γ), dk/dy, dh/dx,
        and the Laplacian's coefficients of ∂f/∂x and ∂f/∂y, k h ∂(k/h)/∂x and
        k h ∂(h/k)/∂y (zero on conformal projections). Kept for the next call on the same
        points (up to 256 MiB per projection)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        key = (x.tobytes(), y.tobytes())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            self.evaluations += 1
        out = self._compute_closed(x, y) if self.closed else self._compute(x, y)
        with self._lock:
            self._cache[key] = out
            total = sum(map(_nbytes, self._cache.values()))
            while total > _CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                total -= _nbytes(old)
        return out

    # --- closed forms: normal-aspect conformal conics (Lambert, polar stereographic), Mercator

    def _closed_form(self) -> dict[str, Any] | None:
        """The constants of the closed forms when the projection has them, checked against
        pyproj's factors at sample points (None: use pyproj everywhere).

        On a conformal conic the scale depends on the distance ρ from the apex (the pole's
        image) only: k = n ρ / (a m(φ)), m = cos φ / √(1 − e² sin² φ), and dk/dρ =
        (n − s sin φ) / (a m), s = ±1 the apex's pole; true north points to (or, s = −1, away
        from) the apex. On Mercator k = k0 / m(φ) depends on y only, dk/dy = sin φ / (a m)."""
        op = self.crs.coordinate_operation if self.conformal else None
        method = (op.method_name or "").lower() if op is not None else ""
        ell = self.crs.ellipsoid
        a = float(ell.semi_major_metre)
        e2 = 1.0 - (float(ell.semi_minor_metre) / a) ** 2
        with np.errstate(all="ignore"):
            if method.startswith("mercator"):
                k, *_ = self._scales(np.array([0.0]), np.array([1e6]))
                phi = np.radians(self.lonlat(0.0, 1e6)[1])
                c: dict[str, Any] = {"kind": "merc", "a": a, "e2": e2}
                c["k0"] = float(k[0] * _m(np.asarray(phi), e2))
            elif method.startswith(("lambert conic conformal", "polar stereographic")):
                apexes = [self._xy(0.0, lat) for lat in (90.0, -90.0)]
                finite = [bool(np.all(np.isfinite(p)) and np.all(np.abs(p) < 1e15)) for p in apexes]
                if finite.count(True) != 1:
                    return None
                sign = 1.0 if finite[0] else -1.0
                xa, ya = (float(v) for v in apexes[0 if finite[0] else 1])
                rho = 2e6
                ref_x, ref_y = np.array([xa]), np.array([ya - sign * rho])
                k, *_ = self._scales(ref_x, ref_y)
                phi = np.radians(self.lonlat(ref_x, ref_y)[1])
                c = {"kind": "conic", "a": a, "e2": e2, "s": sign, "xa": xa, "ya": ya}
                c["n"] = float(k[0] * a * _m(phi, e2)[0] / rho)
            else:
                return None
        return c if self._closed_agrees(c) else None

    def _closed_agrees(self, c: dict[str, Any]) -> bool:
        if c["kind"] == "conic":
            x = c["xa"] + np.array([-8e5, 0.0, 1.3e6])
            y = c["ya"] - c["s"] * np.array([1.5e6, 3e6])
        else:
            x, y = np.array([-5e5, 0.0, 7e5]), np.array([-2e6, 1e5, 3e6])
        self.closed = c
        try:
            fast = self._compute_closed(x, y)
        finally:
            self.closed = None
        slow = self._compute(x, y)
        # pyproj's factors are numerical (~1e-9 relative), their differences noisier
        for name, rtol in (("k", 1e-7), ("h", 1e-7), ("cos", 1e-7), ("sin", 1e-7)) + (
            ("dk_dy", 1e-4),
            ("dh_dx", 1e-4),
        ):
            tol = rtol * max(float(np.max(np.abs(slow[name]))), 1e-300)
            if not np.allclose(fast[name], slow[name], rtol=0, atol=tol):
                return False
        return True

    def _compute_closed(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        c = self.closed
        assert c is not None
        a, e2 = c["a"], c["e2"]
        if c["kind"] == "merc":
            lat = self.lonlat(np.zeros_like(y), y)[1]
            phi = np.radians(np.asarray(lat, dtype=np.float64))
            m = _m(phi, e2)
            k1 = c["k0"] / m
            dk1 = np.sin(phi) / (a * m)
            shape = (y.size, x.size)
            k = np.broadcast_to(k1[:, None], shape).copy()
            zero = np.zeros(shape)
            return {
                "k": k,
                "h": k,
                "cos": np.ones(shape),
                "sin": zero,
                "dk_dy": np.broadcast_to(dk1[:, None], shape).copy(),
                "dh_dx": zero,
                "lx": np.zeros(()),
                "ly": np.zeros(()),
            }
        dx = (x - c["xa"])[None, :]
        dy = (y - c["ya"])[:, None]
        rho = np.hypot(dx, dy)
        k, dk_drho = self._radial(rho)
        with np.errstate(divide="ignore", invalid="ignore"):
            ux, uy = dx / rho, dy / rho  # NaN at the apex: no direction to rotate by there
            dk_dy, dh_dx = dk_drho * uy, dk_drho * ux
        apex = rho == 0
        dk_dy[apex] = dh_dx[apex] = 0.0
        zero = np.zeros(())  # lx, ly: a conformal projection's Laplacian has none
        return {
            "k": k,
            "h": k,
            "cos": -c["s"] * uy,
            "sin": -c["s"] * ux,
            "dk_dy": dk_dy,
            "dh_dx": dh_dx,
            "lx": zero,
            "ly": zero,
        }

    def _radial(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """k and dk/dρ at the distances ``rho`` from a conic's apex. Both depend on ρ alone:
        on a large chunk they are interpolated in a table of ``_NODES`` distances (a step of
        ~1e-4 of the range: interpolation error ~1e-9 of k), the latitude of each from
        pyproj's inverse along the central meridian."""
        c = self.closed
        assert c is not None
        a, e2, n, s, xa, ya = (c[k] for k in ("a", "e2", "n", "s", "xa", "ya"))
        finite = rho[np.isfinite(rho)]
        if rho.size <= 4 * _NODES or not finite.size:
            nodes = rho.ravel()
        else:
            nodes = np.linspace(finite.min(), finite.max(), _NODES)
        lat = self.lonlat(np.full_like(nodes, xa), ya - s * nodes)[1]
        phi = np.radians(np.asarray(lat, dtype=np.float64))
        m = _m(phi, e2)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = n * nodes / (a * m)
            dk = (n - s * np.sin(phi)) / (a * m)
        apex = nodes == 0
        if apex.any():  # the pole on a grid point: k's limit, and dk/dρ = 0 by symmetry
            k[apex] = self._scales(np.array([xa]), np.array([ya - s]))[0][0]
            dk[apex] = 0.0
        if nodes.size == rho.size:
            return k.reshape(rho.shape), dk.reshape(rho.shape)
        return np.interp(rho, nodes, k), np.interp(rho, nodes, dk)

    def _compute(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        gx, gy = np.meshgrid(x, y)
        d = _DELTA
        k, h, gamma = self._scales(gx, gy)
        k_xp, h_xp, _ = self._scales(gx + d, gy)
        k_xm, h_xm, _ = self._scales(gx - d, gy)
        k_yp, h_yp, _ = self._scales(gx, gy + d)
        k_ym, h_ym, _ = self._scales(gx, gy - d)
        out = {
            "k": k,
            "h": h,
            "cos": np.cos(gamma),
            "sin": -np.sin(gamma),
            "dk_dy": (k_yp - k_ym) / (2 * d),
            "dh_dx": (h_xp - h_xm) / (2 * d),
        }
        if self.conformal:
            out["lx"] = np.zeros_like(k)
            out["ly"] = np.zeros_like(k)
        else:
            out["lx"] = k * h * (k_xp / h_xp - k_xm / h_xm) / (2 * d)
            out["ly"] = k * h * (h_yp / k_yp - h_ym / k_ym) / (2 * d)
        return out


def axis_metres(crs: Any) -> float:
    """Metres per unit of a projected CRS's x/y axes (1000 for ``+units=km``), from pyproj's
    ``axis_info``; ValueError when the two axes differ or are not lengths.

    Examples
    --------
    >>> import pyproj
    >>> axis_metres(pyproj.CRS("+proj=merc +R=6371000 +units=km"))
    1000.0
    """
    factors = {float(a.unit_conversion_factor) for a in crs.axis_info[:2]}
    if len(factors) != 1 or not all(np.isfinite(f) and f > 0 for f in factors):
        names = [a.unit_name for a in crs.axis_info]
        raise ValueError(f"crs {crs.name!r} has x/y axes in units {names}, not one length unit")
    return factors.pop()


def _latitude_block(proj: Projection, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Latitudes (radians) on the points ``y × x`` (metres), ``(ny, nx)``."""
    gx, gy = np.meshgrid(np.asarray(x, np.float64), np.asarray(y, np.float64))
    out: np.ndarray = np.radians(proj.lonlat(gx, gy)[1])
    return out


def _nbytes(factors: dict[Any, Any]) -> int:
    return sum(getattr(a, "nbytes", 0) for a in factors.values())


def _m(phi: np.ndarray, e2: float) -> np.ndarray:
    """cos φ / √(1 − e² sin² φ): the parallel's radius over the semi-major axis."""
    out: np.ndarray = np.cos(phi) / np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    return out


@dataclass(frozen=True)
class ProjectedMetric:
    """The metric of a projected grid for :func:`daskgrad.core.derivatives.derive`: x and y
    in metres along ``x_axis`` and ``y_axis``; ``mx``, ``my`` the parallel and meridional
    scales (MetPy's map-factor convention, with grid-relative vector components).

    Examples
    --------
    >>> import pyproj
    >>> p = Projection(pyproj.CRS("+proj=merc +R=6371000"))
    >>> m = ProjectedMetric(p, 1, 0, np.array([0.0, 1e5]), np.array([0.0, 1e6]))
    >>> f = m.factors(m.aux_values, 2, np.dtype("float64"))
    >>> f.mx.shape, np.round(f.cx.ravel() * 6371000, 4).tolist()  # tan φ = sinh(y / R)
    ((2, 2), [0.0, 0.0, 0.1576, 0.1576])
    """

    projection: Projection
    x_axis: int
    y_axis: int
    x: Any
    y: Any

    @property
    def aux_axes(self) -> tuple[int, ...]:
        return (self.x_axis, self.y_axis)

    @property
    def aux_values(self) -> tuple[Any, ...]:
        return (self.x, self.y)

    def factors(self, aux: Sequence[np.ndarray], ndim: int, dtype: np.dtype) -> Factors:
        """The factors on the chunk's x × y points, shaped to broadcast over the chunk (kept
        with the projection's factors: the next chunk on the same points reuses them)."""
        f: dict[Any, Any] = self.projection.factors(aux[0], aux[1])
        key = ("Factors", ndim, np.dtype(dtype).str, self.x_axis, self.y_axis)
        done = f.get(key)
        if done is None:
            done = f[key] = self._shaped(f, ndim, dtype)
        assert isinstance(done, Factors)
        return done

    def latitude(self, like: Any) -> Any:
        """The latitude (radians) of the grid's points from x/y and the CRS (pyproj's inverse),
        shaped to broadcast over ``like`` (size 1 along its other axes); for dask ``like`` a
        dask array chunked as ``like`` along y and x, computed per chunk when needed.

        Examples
        --------
        >>> import pyproj
        >>> p = Projection(pyproj.CRS("+proj=merc +R=6371000"))
        >>> m = ProjectedMetric(p, 1, 0, np.array([0.0, 1e5]), np.array([0.0, 1e6]))
        >>> np.round(np.degrees(m.latitude(np.zeros((2, 2, 3)))), 4)[..., 0].tolist()  # gd(y / R)
        [[0.0, 0.0], [8.9565, 8.9565]]
        """
        from .plan import is_dask_collection

        ya, xa = self.y_axis % like.ndim, self.x_axis % like.ndim
        if is_dask_collection(like):
            import dask.array as da

            y, x = (
                c.rechunk((ch,)) if is_dask_collection(c) else da.from_array(np.asarray(c), (ch,))
                for c, ch in ((self.y, like.chunks[ya]), (self.x, like.chunks[xa]))
            )
            lat = da.blockwise(
                _latitude_block, "ij", self.projection, None, y, "i", x, "j",
                dtype=np.float64, meta=np.empty((0, 0)),
            )  # fmt: skip
        else:
            lat = _latitude_block(self.projection, np.asarray(self.y), np.asarray(self.x))
        if xa < ya:
            lat = lat.T
        return lat[tuple(slice(None) if i in (ya, xa) else None for i in range(like.ndim))]

    def _shaped(self, f: dict[str, np.ndarray], ndim: int, dtype: np.dtype) -> Factors:
        real = np.finfo(dtype).dtype
        shape = [1] * ndim
        shape[self.y_axis], shape[self.x_axis] = f["k"].shape
        flip = self.x_axis < self.y_axis

        def shaped(a: np.ndarray) -> np.ndarray:
            a = a.T if flip else a
            return np.ascontiguousarray(a, dtype=real).reshape(shape)

        k, h = f["k"], f["h"]
        zero = real.type(0)
        return Factors(
            mx=shaped(k),
            my=shaped(h),
            cx=shaped(h / k * f["dk_dy"]),
            cy=shaped(k / h * f["dh_dx"]),
            lx=zero if self.projection.conformal else shaped(f["lx"]),
            ly=zero if self.projection.conformal else shaped(f["ly"]),
            cos=shaped(f["cos"]),
            sin=shaped(f["sin"]),
        )
