"""Map factors of projected grids (pyproj): scales, their derivatives and the meridian
convergence, per horizontal chunk of the projection's x and y coordinates (metres)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrays import is_dask_collection
from .metric import Factors

# Offset (metres) of the central differences that give the derivatives of the map factors:
# small against the scale on which they vary (hundreds of km), large against the noise of
# pyproj's factors (~1e-12): truncation and noise both ~1e-8 of the derivative.
_DELTA = 500.0
# Points per block of the closed forms (their temporaries stay in the cache)
_BLOCK = 1 << 15
# Distance (metres) from a conic's apex at which its factors stand for the apex's: on a polar
# stereographic k(ρ) = k(0) + O(ρ²), equal to rounding there
_APEX = 1e-3
# Bytes of factors kept per projection: the chunks of a grid reused by the next operator.
_CACHE_BYTES = 1 << 28
NAMES = ("k", "h", "cos", "sin", "dk_dy", "dh_dx", "lx", "ly")
# CRSs (WKT) whose constants were found and checked against pyproj: (conformal, closed form).
# A few small dicts; the factors themselves stay with each Projection (its grid).
_KNOWN: OrderedDict[str, tuple[bool, dict[str, Any] | None]] = OrderedDict()
_KNOWN_SIZE = 32
_KNOWN_LOCK = threading.Lock()


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
        self.crs = crs
        self._handle: Any = None
        self.unit = axis_metres(crs)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.evaluations = 0  # chunks whose factors were computed (a count the tests check)
        self.inverse_points = 0  # points given to pyproj's inverse (a count the tests check)
        # the constants and their check against pyproj once per CRS in the process: the next
        # grid on the same CRS (each function's own Grid) skips them
        key = crs.to_wkt()
        with _KNOWN_LOCK:
            known = _KNOWN.get(key)
            if known is not None:
                _KNOWN.move_to_end(key)
        if known is None:
            self.conformal = self._is_conformal()
            self.closed: dict[str, Any] | None = self._closed_form()
            with _KNOWN_LOCK:
                _KNOWN[key] = (self.conformal, self.closed)
                while len(_KNOWN) > _KNOWN_SIZE:
                    _KNOWN.popitem(last=False)
        else:
            self.conformal, self.closed = known

    @property
    def _proj(self) -> Any:
        """pyproj's handle of the CRS, made when first used (the closed forms need none)."""
        if self._handle is None:
            import pyproj

            self._handle = pyproj.Proj(self.crs)
        return self._handle

    def __getstate__(self) -> dict[str, Any]:
        # sent to dask workers: the CRS, not the lock, the PROJ handle or the cache
        return {"crs": self.crs, "conformal": self.conformal, "closed": self.closed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.crs, self.conformal, self.closed = state["crs"], state["conformal"], state["closed"]
        self._handle = None
        self.unit = axis_metres(self.crs)
        self._lock = threading.Lock()
        self._cache = OrderedDict()
        self.evaluations = 0
        self.inverse_points = 0

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
        self.inverse_points += int(np.size(x))
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

    def factors(
        self, x: np.ndarray, y: np.ndarray, names: Sequence[str] = NAMES
    ) -> dict[str, np.ndarray]:
        """Factors on the grid ``y × x`` (1-D coordinates in metres), each ``(ny, nx)`` (or
        broadcastable views of that shape): k, h, cos and sin of the angle that turns grid
        components into eastward/northward (east = cos·gx − sin·gy, north = sin·gx + cos·gy,
        i.e. the angle −γ), dk/dy, dh/dx, and the Laplacian's coefficients of ∂f/∂x and ∂f/∂y,
        k h ∂(k/h)/∂x and k h ∂(h/k)/∂y (zero on conformal projections), and ``lat``, the
        latitude (radians: in closed form where the factors are, else pyproj's inverse, or the
        rotated pole's). At least ``names``
        are computed (the closed forms compute only those; pyproj's path all); each is kept
        for the next call on the same points (up to 256 MiB per projection) and computed
        once per chunk even when several threads ask for it at once."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        key = (x.tobytes(), y.tobytes())
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                entry = self._cache[key] = _Entry()
                self.evaluations += 1
            else:
                self._cache.move_to_end(key)
        with entry.lock:
            missing = [n for n in names if n not in entry.arrays]
            if missing:
                if self.closed:
                    entry.arrays.update(self._compute_closed(x, y, missing))
                else:
                    if any(n != "lat" for n in missing):
                        entry.arrays.update(self._compute(x, y))
                    if "lat" in missing:
                        gx, gy = np.meshgrid(x, y)
                        entry.arrays["lat"] = np.radians(self.lonlat(gx, gy)[1])
                if "lat" in entry.arrays:  # shared by every caller: never written in place
                    entry.arrays["lat"].flags.writeable = False
            out = entry.arrays
        with self._lock:
            total = sum(_nbytes(e.arrays) for e in self._cache.values())
            while total > _CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                total -= _nbytes(old.arrays)
        return out

    # --- closed forms: normal-aspect conformal conics (Lambert, polar stereographic), Mercator

    def _closed_form(self) -> dict[str, Any] | None:
        """The constants of the closed forms when the projection has them, checked against
        pyproj's factors at sample points (None: use pyproj everywhere).

        On a conformal conic the scale depends on the distance ρ from the apex (the pole's
        image) only: ρ = C tⁿ with t = tan(π/4 − φ'/2) ((1 + e sin φ')/(1 − e sin φ'))^(e/2),
        φ' = s φ (s = ±1 the apex's pole), k = n ρ / (a m(φ)), m = cos φ / √(1 − e² sin² φ),
        and dk/dρ = (n − sin φ') / (a m); true north points to (or, s = −1, away from) the
        apex. n (1 on a polar stereographic) and C come from pyproj's forward projection of
        two points, exact to rounding. On Mercator k = k0 / m(φ) depends on y only,
        dk/dy = sin φ / (a m)."""
        op = self.crs.coordinate_operation if self.conformal else None
        method = (op.method_name or "").lower() if op is not None else ""
        ell = self.crs.ellipsoid
        a = float(ell.semi_major_metre)
        b = float(ell.semi_minor_metre)
        e2 = 1.0 - (b / a) ** 2
        with np.errstate(all="ignore"):
            if method.startswith("mercator"):
                # y = y0 + a k0 ψ, ψ the isometric latitude: the conformal latitude χ = gd(ψ)
                k, *_ = self._scales(np.array([0.0]), np.array([1e6]))
                phi = np.radians(self.lonlat(0.0, 1e6)[1])
                c: dict[str, Any] = {"kind": "merc", "a": a, "e2": e2}
                c["k0"] = float(k[0] * _m(np.asarray(phi), e2))
                c["y0"] = float(self._xy(0.0, 0.0)[1])
                c["third"] = _series((a - b) / (a + b))
            elif method.startswith(("lambert conic conformal", "polar stereographic")):
                apexes = [self._xy(0.0, lat) for lat in (90.0, -90.0)]
                finite = [bool(np.all(np.isfinite(p)) and np.all(np.abs(p) < 1e15)) for p in apexes]
                if finite.count(True) != 1:
                    return None
                s = 1.0 if finite[0] else -1.0
                xa, ya = (float(v) for v in apexes[0 if finite[0] else 1])
                lon0, lat = (float(v[0]) for v in self.lonlat([xa], [ya - s * 2e6]))
                lat = float(np.round(lat, 6))  # a point of the central meridian near there
                if method.startswith("polar stereographic"):
                    n = 1.0
                else:  # the angle at the apex between two meridians 10° apart is n·10°
                    px, py = self._xy(lon0 + 10.0, lat)
                    n = float(np.arctan2(abs(px - xa), s * (ya - py)) / np.radians(10.0))
                px, py = self._xy(lon0, lat)
                rho = float(np.hypot(px - xa, py - ya))
                e = float(np.sqrt(e2))
                phi = np.radians(s * lat)
                es = e * np.sin(phi)
                t = np.tan(np.pi / 4 - phi / 2) * ((1 + es) / (1 - es)) ** (e / 2)
                c = {"kind": "conic", "a": a, "e2": e2, "s": s, "xa": xa, "ya": ya, "n": n}
                c["C"] = C = float(rho / t**n)
                c["sphere"] = lam, *_ = _sphere_constants(n, a, C)
                c["kappa"] = lam ** (-0.5 / n) * C ** (-1.0 / n)  # t = κ √(λρ²)^(1/n)
                c["third"] = _series((a - b) / (a + b))
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
            fast = self._compute_closed(x, y, NAMES)
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

    def _compute_closed(
        self, x: np.ndarray, y: np.ndarray, names: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """The closed forms' ``names`` (and what comes with them at no cost)."""
        c = self.closed
        assert c is not None
        shape = (y.size, x.size)
        zero = np.zeros(())  # lx, ly: a conformal projection's Laplacian has none
        out: dict[str, np.ndarray] = {"lx": zero, "ly": zero}
        if c["kind"] == "merc":  # everything per row: views of (ny, 1) columns
            psi = (y - c["y0"]) / (c["a"] * c["k0"])
            sin_chi, cos_chi = np.tanh(psi), 1.0 / np.cosh(psi)
            sin_phi, cos_phi = _geodetic(sin_chi, cos_chi, c["third"], list(np.empty((5, y.size))))
            m = cos_phi / np.sqrt(1.0 - c["e2"] * sin_phi**2)
            k = np.broadcast_to((c["k0"] / m)[:, None], shape)
            out.update(
                k=k,
                h=k,
                cos=np.broadcast_to(np.ones(()), shape),
                sin=np.broadcast_to(np.zeros(()), shape),
                dk_dy=np.broadcast_to((sin_phi / (c["a"] * m))[:, None], shape),
                dh_dx=np.broadcast_to(np.zeros(()), shape),
                lat=np.broadcast_to(np.arctan2(sin_phi, cos_phi)[:, None], shape),
            )
            return out
        want_k = "k" in names or "h" in names
        want_d = "dk_dy" in names or "dh_dx" in names
        want_r = "cos" in names or "sin" in names
        want_lat = "lat" in names
        arrays = [name for name, w in (("k", want_k), ("dk_dy", want_d), ("dh_dx", want_d),
                                       ("cos", want_r), ("sin", want_r), ("lat", want_lat))
                  if w]  # fmt: skip
        # one buffer for all of them: fresh memory costs a page fault per page, ~10x writing
        # it (the chunk's factors are new memory for every new grid), and numpy asks the
        # kernel for huge pages from 4 MiB on, where three 3.8 MB arrays of a chunk get none
        buffer = np.empty((len(arrays), *shape))
        out.update({name: buffer[i] for i, name in enumerate(arrays)})
        if want_k:
            out["h"] = out["k"]
        dx = x - c["xa"]
        dy = y - c["ya"]
        dx2 = dx * dx
        # rows at a time into scratch arrays allocated once: every temporary stays in the
        # cache, and no new memory is touched per block
        step = max(1, _BLOCK // max(1, x.size))
        scratch = np.empty((10, min(step, y.size), x.size))
        for i in range(0, y.size, step):
            rows = slice(i, i + step)
            blocks = {n: out[n][rows] for n in arrays}
            m = blocks[arrays[0]].shape[0]
            self._conic_block(dx, dx2, dy[rows, None], blocks, scratch[:, :m], want_k, want_d)
        return out

    def _conic_block(
        self,
        dx: np.ndarray,
        dx2: np.ndarray,
        dy: np.ndarray,
        out: dict[str, np.ndarray],
        scratch: np.ndarray,
        want_k: bool,
        want_d: bool,
    ) -> None:
        """The conic's factors on the rows ``dy`` (a column) × the columns ``dx`` (from the
        apex), into ``out``'s row blocks: one power and two divisions per point on a sphere
        (no power on a polar stereographic); on an ellipsoid the latitude from the conformal
        latitude χ by Karney's series in the third flattening (exact to rounding), without
        trigonometric functions."""
        c = self.closed
        assert c is not None
        a, e2, n, s, C = (c[k] for k in ("a", "e2", "n", "s", "C"))
        r2, rho, w, it, *rest = scratch
        # r2 = λ ρ² (λ = 1 on an ellipsoid)
        lam = c["sphere"][0] if e2 == 0.0 else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            np.add(dx2 * lam, dy * dy * lam, out=r2)
            if "cos" in out:  # NaN at the apex: no direction to rotate by there
                inv = np.divide(-s * np.sqrt(lam), np.sqrt(r2, out=rho), out=it)
                np.multiply(dy, inv, out=out["cos"])
                np.multiply(dx, inv, out=out["sin"])
            want_lat = "lat" in out
            if not (want_k or want_d or want_lat):
                return
            apex = None
            if (dy == 0).any() and (dx == 0).any():  # the pole on a grid point: k's limit
                apex = r2 == 0
                r2[apex] = lam * _APEX**2
            if e2 == 0.0:
                # t = (ρ/C)^(1/n) = ρ w, cos φ = 2t / (1 + t²), sin φ' = (1 − t²) / (1 + t²):
                # k = n (ρ² w + 1/w) / 2a and (dk/dρ) / ρ = ((n + 1) w + (n − 1) / (ρ² w)) / 2a;
                # with R = λ ρ², P = R^q: k = R P + β / P, (dk/dρ) / ρ = γ (P + δ / (R P))
                _, q, beta, scale, delta = c["sphere"]
                if q == 0.0:  # a polar stereographic: P = 1
                    P = w
                    P.fill(1.0)
                else:  # R = O(0.01–1) on the earth: exp(q log R) is pow's to an ulp or two
                    P = np.log(r2, out=w)
                    P *= q
                    np.exp(P, out=P)
                if want_lat:  # t = (ρ/C)^(1/n) = κ √R P, φ' = π/2 − 2 atan t
                    lat = np.sqrt(r2, out=out["lat"])
                    lat *= P
                    lat *= c["kappa"]
                    np.arctan(lat, out=lat)
                    lat *= -2.0 * s
                    lat += s * np.pi / 2
                M = np.multiply(r2, P, out=out["k"] if want_k else rho)
                if want_d:
                    g = np.divide(delta, M, out=rho)
                    g += P
                if want_k:
                    np.add(M, np.divide(beta, P, out=it), out=M)
            else:
                rho = np.sqrt(r2, out=rho)
                t = w
                if n == 1.0:
                    np.multiply(rho, 1.0 / C, out=t)
                else:
                    np.power(r2, 0.5 / n, out=t)
                    t *= C ** (-1.0 / n)
                den = rest[0]
                sin_chi = np.multiply(t, t, out=it)
                np.add(sin_chi, 1.0, out=den)
                np.divide(1.0, den, out=den)
                np.subtract(1.0, sin_chi, out=sin_chi)
                sin_chi *= den
                t *= 2.0
                cos_chi = np.multiply(t, den, out=t)
                sin_phi, cos_phi = _geodetic(sin_chi, cos_chi, c["third"], rest[1:])
                if want_lat:
                    np.arctan2(sin_phi, cos_phi, out=out["lat"])
                    out["lat"] *= s
                inv_m = np.multiply(sin_phi, sin_phi, out=sin_chi)
                inv_m *= -e2
                inv_m += 1.0
                np.sqrt(inv_m, out=inv_m)
                inv_m /= cos_phi
                if want_k:
                    k = np.multiply(rho, inv_m, out=out["k"])
                    k *= n / a
                if want_d:  # (dk/dρ) / ρ = (n − sin φ') / (a m ρ)
                    g = np.subtract(n, sin_phi, out=sin_phi)
                    g *= inv_m
                    g /= rho
                    scale = 1.0 / a
            if want_lat and apex is not None:
                out["lat"][apex] = s * np.pi / 2
            if want_d:
                if apex is not None:
                    g[apex] = 0.0  # dk/dρ = 0 by symmetry
                np.multiply(g, dy * scale, out=out["dk_dy"])
                np.multiply(g, dx * scale, out=out["dh_dx"])

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


def _sphere_constants(n: float, a: float, C: float) -> tuple[float, ...]:
    """(λ, q, β, γ, δ) of the spherical conic's factors in ``R = λ ρ²`` and ``P = R^q``:
    k = R P + β / P and (dk/dρ) / ρ = γ (P + δ / (R P)), the constants folded so that a
    point costs one power, two divisions and five multiplications or additions."""
    q = 0.5 / n - 0.5
    K = C ** (-1.0 / n)  # w = (ρ/C)^(1/n) / ρ = K ρ^(2q)
    c0 = n / (2 * a)
    lam = (c0 * K) ** (1.0 / (q + 1))
    beta = c0 * lam**q / K
    gamma = (n + 1) / (2 * a) * K * lam ** (-q)
    delta = (n - 1) / (2 * a) * lam ** (q + 1) / K / gamma
    return lam, q, beta, gamma, delta


class _Entry:
    """One chunk's factors, filled as they are asked for, and the lock of their computation."""

    def __init__(self) -> None:
        self.arrays: dict[Any, Any] = {}
        self.lock = threading.Lock()


def _series(n: float) -> np.ndarray:
    """Karney's (2011) coefficients d_j of φ = χ + Σ d_j sin 2jχ (the geodetic latitude from
    the conformal one) in the third flattening ``n``, to n⁶: errors ~n⁷ ≈ 4e-20 on the earth."""
    n2, n3, n4, n5, n6 = n**2, n**3, n**4, n**5, n**6
    return np.array(
        [
            2 * n - 2 * n2 / 3 - 2 * n3 + 116 * n4 / 45 + 26 * n5 / 45 - 2854 * n6 / 675,
            7 * n2 / 3 - 8 * n3 / 5 - 227 * n4 / 45 + 2704 * n5 / 315 + 2323 * n6 / 945,
            56 * n3 / 15 - 136 * n4 / 35 - 1262 * n5 / 105 + 73814 * n6 / 2835,
            4279 * n4 / 630 - 332 * n5 / 35 - 399572 * n6 / 14175,
            4174 * n5 / 315 - 144838 * n6 / 6237,
            601676 * n6 / 22275,
        ]
    )


def _geodetic(
    sin_chi: np.ndarray, cos_chi: np.ndarray, d: np.ndarray, scratch: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """sin φ and cos φ from the conformal latitude's sine and cosine: δ = φ − χ by Clenshaw's
    sum of :func:`_series`, its sine and cosine by Taylor series (|δ| < 0.004 on the earth:
    exact to rounding), then the angle sums, all without trigonometric functions; in five
    ``scratch`` arrays of their shape (the results are two of them)."""
    sin2, cos2, b1, b2, tmp = scratch[:5]
    np.multiply(sin_chi, cos_chi, out=sin2)
    sin2 *= 2.0
    np.multiply(sin_chi, sin_chi, out=cos2)
    cos2 *= -4.0
    cos2 += 2.0  # 2 cos 2χ
    b1.fill(0.0)
    b2.fill(0.0)
    for dj in d[::-1]:  # b_j = d_j + 2 cos 2χ b_{j+1} − b_{j+2}
        b2 *= -1.0
        b2 += dj
        b2 += np.multiply(cos2, b1, out=tmp)
        b1, b2 = b2, b1
    delta = np.multiply(b1, sin2, out=b1)
    d2 = np.multiply(delta, delta, out=b2)
    sin_d = np.multiply(d2, -1.0 / 5040, out=sin2)
    sin_d += 1.0 / 120
    sin_d *= d2
    sin_d -= 1.0 / 6
    sin_d *= d2
    sin_d += 1.0
    sin_d *= delta
    cos_d = np.multiply(d2, -1.0 / 40320, out=cos2)
    cos_d += 1.0 / 720
    cos_d *= d2
    cos_d -= 1.0 / 24
    cos_d *= d2
    cos_d += 1.0 / 2
    cos_d *= d2
    np.subtract(1.0, cos_d, out=cos_d)
    sin_phi = np.multiply(sin_chi, cos_d, out=b1)
    sin_phi += np.multiply(cos_chi, sin_d, out=tmp)
    cos_phi = np.multiply(cos_chi, cos_d, out=b2)
    cos_phi -= np.multiply(sin_chi, sin_d, out=tmp)
    return sin_phi, cos_phi


def _latitude_block(proj: Projection, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Latitudes (radians) on the points ``y × x`` (metres), ``(ny, nx)``: the projection's
    ``lat`` factor, kept with the chunk's other factors."""
    out: np.ndarray = proj.factors(x, y, ("lat",))["lat"]
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

    ``metres``: the metres per unit of the coordinates the derivatives are taken in, along x
    and y (1: per metre). A caller that differentiates with a spacing of 1/2 per grid step h
    (``metres`` = 2h) gets raw centred differences ``f[i+1] − f[i−1]`` from the kernel, with
    no pass to weight them: the weight 1/(2h) is folded into the scales ``mx``, ``my`` (and the
    Laplacian's ``lx``, ``ly``), which are computed once per chunk (equal to rounding).

    Examples
    --------
    >>> import pyproj
    >>> p = Projection(pyproj.CRS("+proj=merc +R=6371000"))
    >>> m = ProjectedMetric(p, 1, 0, np.array([0.0, 1e5]), np.array([0.0, 1e6]))
    >>> f = m.factors(m.aux_values, 2, np.dtype("float64"))
    >>> # one value per row (Mercator's scales depend on y only); tan φ = sinh(y / R)
    >>> f.mx.shape, np.round(f.cx.ravel() * 6371000, 4).tolist()
    ((2, 1), [0.0, 0.1576])
    """

    projection: Projection
    x_axis: int
    y_axis: int
    x: Any
    y: Any
    metres: tuple[float, float] = (1.0, 1.0)

    @property
    def aux_axes(self) -> tuple[int, ...]:
        return (self.x_axis, self.y_axis)

    @property
    def aux_values(self) -> tuple[Any, ...]:
        return (self.x, self.y)

    def factors(self, aux: Sequence[np.ndarray], ndim: int, dtype: np.dtype) -> Factors:
        """The factors on the chunk's x × y points, shaped to broadcast over the chunk (kept
        with the projection's factors: the next chunk on the same points reuses them); no
        rotation (``cos``, ``sin`` None): the formulas work in the grid's frame."""
        names = ("k", "h", "dk_dy", "dh_dx") + (() if self.projection.conformal else ("lx", "ly"))
        f: dict[Any, Any] = self.projection.factors(aux[0], aux[1], names)
        key = ("Factors", ndim, np.dtype(dtype).str, self.x_axis, self.y_axis, self.metres)
        done = f.get(key)
        if done is None:
            done = f[key] = self._shaped(f, ndim, dtype)
        assert isinstance(done, Factors)
        return done

    def latitude(self, like: Any) -> Any:
        """The latitude (radians) of the grid's points from x/y and the CRS (in closed form for
        the projections that have one, else pyproj's inverse; kept with the factors),
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
        flip = self.x_axis < self.y_axis

        def shaped(a: np.ndarray, per: float = 1.0) -> np.ndarray:
            # a factor constant along x or y (Mercator's) is kept as one column or row
            a = a[:, :1] if a.strides[1] == 0 else a
            a = a[:1] if a.strides[0] == 0 else a
            if per != 1.0:  # per unit of the coordinates, in float64
                a = np.multiply(a, per)
            a = a.T if flip else a
            out = list(shape)
            out[self.y_axis], out[self.x_axis] = a.shape[::-1] if flip else a.shape
            return np.ascontiguousarray(a, dtype=real).reshape(out)

        k, h = f["k"], f["h"]
        zero = real.type(0)
        # the scales (and the Laplacian's terms) per unit of the coordinates: over ``metres``
        ux, uy = (1.0 / m for m in self.metres)
        if self.projection.conformal:  # h = k: cx = ∂k/∂y, cy = ∂k/∂x, no Laplacian terms
            mx = shaped(k, ux)
            my = mx if uy == ux else shaped(k, uy)  # one array: the shared scale of the formulas
            return Factors(mx=mx, my=my, cx=shaped(f["dk_dy"]), cy=shaped(f["dh_dx"]), lx=zero,
                           ly=zero)  # fmt: skip
        return Factors(
            mx=shaped(k, ux),
            my=shaped(h, uy),
            cx=shaped(h / k * f["dk_dy"]),
            cy=shaped(k / h * f["dh_dx"]),
            lx=shaped(f["lx"], ux),
            ly=shaped(f["ly"], uy),
        )
