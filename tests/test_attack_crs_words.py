"""The attacker's crs case: a crs= that contradicts the data's grid_mapping is refused with
both CRSs spelled out, not as "('unknown') contradicts ... ('unknown')"."""

import pytest

import daskgrad
from daskgrad.errors import OptionError

from .test_trial_fixes import hrrr_like


def test_a_contradicting_crs_is_named_by_its_proj_string():
    ds = hrrr_like()
    mapping = next(v for v in ds.variables if "grid_mapping_name" in ds[v].attrs)
    attrs = ds[mapping].attrs
    given = (
        f"+proj=lcc +lat_0={attrs['latitude_of_projection_origin']} +lat_1=38.5 +lat_2=38.5 "
        f"+lon_0={attrs['longitude_of_central_meridian']} +R=6371229 +units=km"
    )
    with pytest.raises(OptionError) as e:
        daskgrad.Grid(ds, crs=given)
    msg = str(e.value)
    assert "unknown" not in msg and "+units=km" in msg and "+units=m" in msg, msg
