"""Session-wide object-store servers, shared by the test modules that name this file in their
``pytest_plugins`` (a plugin's fixture is one fixture for the whole session; imported into each
module it would be one per module). Each module keeps its own bucket, so its tests stay
independent of the others'."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import s3_server  # noqa: E402

from .conftest import popen_tied  # noqa: E402


@pytest.fixture(scope="session")
def moto_process():
    """moto's server as a process of its own (tied to pytest: it dies with it), started once per
    pytest process (each xdist worker) for the modules whose runs hammer it at once or freeze a
    proxy to it (tests/test_store_timeout.py, test_commit_timeout.py, test_trial_fixes3_s3.py):
    a server start and its users once, not per module."""
    server = s3_server.start(in_process=False, popen=popen_tied)
    try:
        yield server
    finally:
        server.stop()
