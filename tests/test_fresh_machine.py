"""A fresh machine is green: the object-store tests whatever the machine's AWS configuration
(``~/.aws``, ``AWS_*`` variables), and no `dask scheduler`/`dask worker` a test started
outlives an interrupted or killed pytest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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
    """The object-store tests, run with a ~/.aws and AWS_* variables of a user's: the same
    results as on a bare machine. One test per way the machine's configuration could reach a
    run (the module's server and input are written with explicit keys in its fixture): keys
    and endpoint given as storage options, with the machine's session token, profile, region,
    endpoint and addressing style around (a missing bucket must read as missing, not as another
    server's or region's answer; wrong keys as denied, not as a bad token); keys from the
    environment (a machine's session token or profile must not join them)."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    selected = [
        "tests/test_s3.py::test_missing_bucket_is_a_usage_error",
        "tests/test_s3.py::test_wrong_credentials_are_a_usage_error_and_never_shown[False]",
        "tests/test_s3.py::test_credentials_from_the_environment",
    ]
    r = subprocess.run(
        [sys.executable, "-m", "pytest", *selected, "-q", "-n", "0",
         "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestUnraisableExceptionWarning"],
        cwd=ROOT, env=hostile_aws(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert f"{len(selected)} passed" in r.stdout, r.stdout[-2000:]


# ------------------------------------------------------------- an interrupted pytest leaves none

INNER = '''
import json, os, sys, time
from pathlib import Path

import pytest

from tests.conftest import popen_tied

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


@pytest.fixture
def cluster(tmp_path):
    """As the suite's external-cluster fixtures start theirs."""
    sf = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "w")
    procs = [popen_tied([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                         "--no-dashboard", "--scheduler-file", sf], stdout=log, stderr=log)]
    while not (sf.exists() and sf.read_text().strip().endswith("}")):
        time.sleep(0.05)
    procs.append(popen_tied([DASK, "worker", "--scheduler-file", sf, "--host", "127.0.0.1",
                             "--nthreads", "1", "--no-dashboard", "--no-nanny"],
                            stdout=log, stderr=log))
    Path(os.environ["PIDS"]).write_text(json.dumps([p.pid for p in procs]))
    if os.environ["WHEN"] == "setup":
        time.sleep(600)  # still setting up (waiting for workers, say) when interrupted
    yield sf
    for p in procs:
        p.kill()
        p.wait()


def test_long(cluster):
    time.sleep(600)
'''


def alive(pid: int) -> bool:
    """A running (not zombie) process with that pid whose command line is dask's."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and b"dask" in cmdline


@pytest.mark.skipif(sys.platform != "linux", reason="tied processes and /proc: Linux")
@pytest.mark.parametrize(
    "signals, when, xdist",
    [((signal.SIGINT,), "setup", False), ((signal.SIGINT, signal.SIGKILL), "test", False),
     ((signal.SIGTERM,), "test", False), ((signal.SIGINT,), "test", True),
     ((signal.SIGKILL,), "test", True)],
    ids=["ctrl-c-in-setup", "ctrl-c-then-kill-in-test", "sigterm-in-test",
         "ctrl-c-under-xdist", "kill-under-xdist"],
)  # fmt: skip
def test_no_dask_process_outlives_an_interrupted_pytest(tmp_path, signals, when, xdist):
    """A pytest session whose fixture has started `dask scheduler` and `dask worker`: Ctrl-C
    while the fixture is still setting up (its teardown never registered), Ctrl-C and then a
    SIGKILL during the test, SIGTERM (no teardown at all): the processes die with it. Under
    pytest-xdist (with this suite's conftest; one worker, as each of the suite's two), the
    processes a worker started die with the pytest that started the workers, stopped by Ctrl-C
    or killed."""
    from tests.conftest import popen_tied

    (tmp_path / "test_inner.py").write_text(INNER)
    pids_file = tmp_path / "pids.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIDS": str(pids_file), "WHEN": when}
    workers = ["-n", "1", "-p", "tests.conftest"] if xdist else []
    if xdist:  # what a killed session leaves in its temporary directory stays in tmp_path
        env["TMPDIR"] = str(tmp_path)
    inner = popen_tied(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "-o", "addopts=", *workers, str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not pids_file.exists() or not pids_file.read_text():
            assert inner.poll() is None, inner.communicate()[0]
            assert time.monotonic() < deadline, "the inner session did not start its cluster"
            time.sleep(0.1)
        pids = json.loads(pids_file.read_text())
        assert len(pids) == 2 and all(alive(p) for p in pids)
        time.sleep(0.5)  # pytest is in the fixture's sleep or the test's
        for sig in signals:
            inner.send_signal(sig)
            time.sleep(0.3)
        inner.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == [], f"dask processes {left} outlived pytest (exit {inner.returncode})"
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait()
        for p in pids:
            if alive(p):
                os.kill(p, signal.SIGKILL)
