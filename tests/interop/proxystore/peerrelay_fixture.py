"""pytest plugin: ProxyStore's own test files against `peerrelay serve` (used by run-proxystore-tests.sh).

ProxyStore's tests take a `relay_server` fixture that its conftest (not loaded: --noconftest, it imports every
connector's dependencies) takes from its `testing` package, where it runs ProxyStore's Python relay in-process. This
plugin provides the fixture instead: a fresh `peerrelay serve` (default settings) on a free loopback port, yielding
the same NamedTuple shape; one relay for the whole run (PEERRELAY_FIXTURE_SCOPE=function: one per test, as ProxyStore's
own fixture does, which makes a run of the four files take minutes instead of seconds). `relay_server` and
`websocket_server` are None: tests that reach into the Python relay's internals need more than a relay address and
are left out by the runner. PEERRELAY_DLL names the built relay.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from typing import NamedTuple

import pytest


class RelayServerInfo(NamedTuple):
    relay_server: object
    websocket_server: object
    host: str
    port: int
    address: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope=os.environ.get("PEERRELAY_FIXTURE_SCOPE", "session"))
def relay_server():
    dll = os.environ["PEERRELAY_DLL"]
    port = _free_port()
    process = subprocess.Popen(
        ["dotnet", dll, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if re.search(r"PeerRelay listening on ", line):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("peerrelay did not start listening")
    else:
        raise RuntimeError(f"peerrelay exited with {process.wait()}")
    try:
        # ProxyStore's fixture uses 'localhost'; so do we (the relay listens on 127.0.0.1).
        yield RelayServerInfo(None, None, "localhost", port, f"ws://localhost:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        process.stdout.close()
