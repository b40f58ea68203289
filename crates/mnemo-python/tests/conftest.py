"""Fixtures: a real ``mnemo serve`` server (the binary ``target/ci/mnemo``,
or ``$MNEMO_BIN``) on a free port with a temporary data directory and
config, and clients of it.

``server`` starts one server per test session; ``client`` is an admin
:class:`mnemo.Client` of it; ``ns_client`` a fresh namespace on it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

import mnemo

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Server:
    """A running server: its URL and tokens of each right."""

    url: str
    admin_token: str
    write_token: str
    read_token: str


def _binary() -> Path:
    # Resolved now: the server runs in its temporary directory.
    path = Path(os.environ.get("MNEMO_BIN", REPO / "target" / "ci" / "mnemo")).resolve()
    if not path.is_file():
        raise RuntimeError(
            f"no mnemo binary at {path}: build it (cargo build --profile ci -p mnemo-cli) "
            "or set MNEMO_BIN"
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _token(binary: Path, config: Path, cwd: Path, name: str, right: str) -> str:
    out = subprocess.run(
        [str(binary), "token", "create", "--name", name, "--right", right, "--config", str(config)],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


def _wait_ready(url: str, process: "subprocess.Popen[bytes]", log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mnemo serve exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"mnemo serve was not ready within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A ``mnemo serve`` process for the whole session."""
    binary = _binary()
    root = tmp_path_factory.mktemp("mnemo-server")
    config = root / "mnemo.toml"
    admin = _token(binary, config, root, "admin", "admin")
    write = _token(binary, config, root, "writer", "write")
    read = _token(binary, config, root, "reader", "read")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--data",
                str(root / "data"),
                "--config",
                str(config),
                "--listen",
                f"127.0.0.1:{port}",
                "--embedder",
                "hash",
            ],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, process, log)
        yield Server(url, admin, write, read)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture()
def client(server: Server) -> Iterator[mnemo.Client]:
    """An admin client of the session's server, closed after the test."""
    c = mnemo.Client(server.url, server.admin_token)
    try:
        yield c
    finally:
        c.close()


def unique_name(prefix: str = "t") -> str:
    """A namespace name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def ns_client(client: mnemo.Client) -> mnemo.Namespace:
    """A fresh namespace on the session's server."""
    return client.namespace(unique_name())
