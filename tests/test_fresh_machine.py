"""A fresh machine is green: the object-store tests whatever the machine's AWS configuration
(``~/.aws``, ``AWS_*`` variables), and no `dask scheduler`/`dask worker` a test started
outlives an interrupted or killed pytest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def hostile_aws(tmp_path: Path) -> dict[str, str]:
    """A user's AWS set-up that is not the tests' server: a default profile with other keys,
    an expired session token, another region, another endpoint, virtual-host addressing (which
    127.0.0.1 cannot serve), and AWS_PROFILE naming a profile that does not exist."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAFILEFILEFILEFILE\n"
        "aws_secret_access_key = file-secret\naws_session_token = file-token\n"
    )
    (home / ".aws" / "config").write_text(
        "[default]\nregion = eu-west-3\nendpoint_url = http://127.0.0.1:9\n"
        "s3 =\n    addressing_style = virtual\n[profile elsewhere]\nregion = ap-south-1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_PROFILE="no-such-profile",
        AWS_ACCESS_KEY_ID="AKIAENVENVENVENVENV1",
        AWS_SECRET_ACCESS_KEY="env-secret",
        AWS_SESSION_TOKEN="env-token",
        AWS_DEFAULT_REGION="ap-south-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.mark.slow
def test_s3_tests_pass_whatever_the_machines_aws_configuration(tmp_path):
    """The tests that read credentials from the environment and check denied access, run with
    a ~/.aws and AWS_* variables of a user's: the same results as on a bare machine."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    selected = "credentials_from_the_environment or wrong_credentials or missing_bucket"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_s3.py", "-k", selected, "-q",
         "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestUnraisableExceptionWarning"],
        cwd=ROOT, env=hostile_aws(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "4 passed" in r.stdout, r.stdout[-2000:]
