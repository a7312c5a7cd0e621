"""A real S3 API server for the tests and the benchmark: moto's standalone server on 127.0.0.1
at a free port, with IAM authentication enforced (keys that pass and keys that do not)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# What a reader may do. AWS (and moto up to 5.2.5) check reads as s3:GetObject (GET and HEAD of
# an object) and s3:ListBucket (listing); moto 5.2.6 checks each request under its operation's
# name instead (s3:HeadObject, s3:ListObjectsV2, s3:HeadBucket), so a policy of IAM names alone
# denied every listing and HEAD: the reader could not read. The reader gets both spellings of
# the reads and nothing that writes.
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:ListBucket",
                "s3:HeadObject",
                "s3:HeadBucket",
                "s3:ListObjects",
                "s3:ListObjectsV2",
            ],
            "Resource": "*",
        }
    ],
}


def hermetic_env(home: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with no trace of the machine's AWS configuration:
    every ``AWS_*`` variable dropped, HOME (and so ``~/.aws`` and botocore's caches) in
    ``home``, the config and credentials files pointing where nothing is, and no instance
    metadata lookup. The server and its clients then see only the keys the tests pass."""
    env = {k: v for k, v in (os.environ if env is None else env).items()}
    for name in list(env):
        if name.startswith(("AWS_", "BOTO_")):
            del env[name]
    env["HOME"] = home
    env["AWS_CONFIG_FILE"] = os.path.join(home, "no-such-dir", "config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "no-such-dir", "credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@dataclass
class S3Server:
    """moto's server: its endpoint, the keys of an all-powerful and of a read-only user."""

    endpoint: str
    keys: dict[str, str] = field(repr=False)
    reader: dict[str, str] = field(repr=False)
    server: Any = field(default=None, repr=False)
    process: Any = field(default=None, repr=False)

    def options(self, keys: dict[str, str] | None = None) -> dict[str, Any]:
        """s3fs storage options for this server (the admin's keys unless given others)."""
        keys = keys or self.keys
        return {
            "key": keys["key"],
            "secret": keys["secret"],
            "client_kwargs": {"endpoint_url": self.endpoint},
        }

    def cli_options(self, keys: dict[str, str] | None = None, flag="--storage-option") -> list:
        """The same as ``daskgrad run`` arguments."""
        return [
            f"{flag}={k}={json.dumps(v) if isinstance(v, dict) else v}"
            for k, v in self.options(keys).items()
        ]

    def fs(self, keys: dict[str, str] | None = None) -> Any:
        import s3fs

        return s3fs.S3FileSystem(**self.options(keys), skip_instance_cache=True)

    def make_bucket(self, name: str) -> None:
        import boto3

        creds = {
            "aws_access_key_id": self.keys["key"],
            "aws_secret_access_key": self.keys["secret"],
        }
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **creds)
        s3.create_bucket(Bucket=name)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        """The in-process server again on the same port: its buckets and objects are kept."""
        from moto.server import ThreadedMotoServer

        host, port = self.endpoint.rsplit(":", 1)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(port), verbose=False)
        self.server.start()


def _setup(endpoint: str) -> tuple[dict, dict]:
    """Users with keys (an admin and a reader), then authentication switched on."""
    import boto3

    # moto's state and its authentication switch are per process, not per server: a server
    # started after another in this process starts with the other's users and with
    # authentication on. Switch it off and start from an empty state.
    _moto_api(endpoint, "reset-auth", b"inf")
    _moto_api(endpoint, "reset", b"")
    creds = {"aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap"}
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **creds)
    keys = []
    for user, policy in (("daskgrad-admin", ALLOW_ALL), ("daskgrad-reader", READ_ONLY)):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        keys.append({"key": k["AccessKeyId"], "secret": k["SecretAccessKey"]})
    _moto_api(endpoint, "reset-auth", b"0")
    return keys[0], keys[1]


def _moto_api(endpoint: str, what: str, data: bytes) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/{what}",
        data=data,
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=10).read()


def start(
    in_process: bool = True, env: dict[str, str] | None = None, popen: Any = None
) -> S3Server:
    """Start moto's server on 127.0.0.1 at a free port: in a thread of this process (``stop``
    and ``restart`` keep its data) or as its own ``moto_server`` process (a benchmark's
    server, or one that many runs at once hammer, should not share this process's
    interpreter lock; ``env`` is its environment, by default this one without its AWS
    configuration; ``popen`` starts it, by default ``subprocess.Popen``: the tests pass
    ``tests.conftest.popen_tied`` so that it dies with pytest)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if in_process:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        keys, reader = _setup(endpoint)
        return S3Server(endpoint, keys, reader, server=server)
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = (popen or subprocess.Popen)(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=hermetic_env(os.environ.get("HOME", "/nonexistent")) if env is None else env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"moto_server did not start on port {port}") from None
            time.sleep(0.2)
    keys, reader = _setup(endpoint)
    return S3Server(endpoint, keys, reader, process=proc)
