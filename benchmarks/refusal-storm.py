#!/usr/bin/python3
"""Connection storm against a relay at its per-address limit: the relay's CPU per refused connection.

Starts `peerrelay serve` (the build given by --dll; pinned to --cpu) with max_connections_per_ip = 1, registers one
client that holds the address's only slot, then opens --count WebSockets one after another from --clients
concurrent workers (pinned to another CPU). Each is refused: today with an accepted upgrade closed at once with 1013
(the client answers the close, as a WebSocket client does); before issue 12, with an HTTP 429 before the upgrade.
Reports the relay's CPU time (user + system, from /proc) per refused connection, and what the refusals were.

  benchmarks/refusal-storm.py --dll src/PeerRelay/bin/Release/net10.0/peerrelay.dll [--count 5000] [--clients 20]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


UPGRADE = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: " + base64.b64encode(b"0123456789abcdef").decode() + "\r\nSec-WebSocket-Version: 13\r\n\r\n")


def masked(opcode: int, payload: bytes) -> bytes:
    mask = b"\x11\x22\x33\x44"
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def refused_once(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(UPGRADE.format(port=port).encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode()
        if status != "101":
            return f"HTTP {status}"
        first = await reader.readexactly(2)
        length = first[1] & 0x7F
        payload = await reader.readexactly(length)
        code = struct.unpack(">H", payload[:2])[0] if length >= 2 else 1005
        if first[0] & 0x0F != 8:
            return f"opcode {first[0] & 0x0F} before any close"
        if first[0] & 0x0F == 8:
            writer.write(masked(8, payload[:2]))  # answer the close, as a WebSocket client does
            await writer.drain()
            await reader.read()  # the relay closes the TCP connection
        return f"close {code}"
    finally:
        writer.close()


async def storm(port: int, count: int, clients: int) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    left = count

    async def worker():
        nonlocal left
        while left > 0:
            left -= 1
            outcome = await refused_once(port)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    return outcomes


def hold_slot(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(UPGRADE.format(port=port).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert b" 101 " in head.split(b"\r\n")[0], head
    sock.sendall(masked(1, json.dumps({"message_type": "RelayRegistrationRequest", "name": "holder",
                                       "uuid": "00000000-0000-4000-8000-000000000001"}).encode()))
    return sock


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dll", required=True)
    p.add_argument("--count", type=int, default=5000)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--cpu", default="0", help="CPU for the relay (taskset); the storm runs on the others")
    args = p.parse_args()
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
        # No keep-alive: the slot holder never answers pings and must not be dropped mid-run.
        config.write("max_connections_per_ip = 1\nping_interval = 0\nlog_level = \"WARNING\"\n")
    relay = subprocess.Popen(["taskset", "-c", args.cpu, "dotnet", args.dll, "serve", "--config", config.name,
                              "--host", "127.0.0.1", "--port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in relay.stdout:
            if "listening on" in line:
                break
        others = sorted(set(range(os.cpu_count() or 1)) - {int(args.cpu)}) or [0]
        os.sched_setaffinity(0, others)
        holder = hold_slot(port)
        asyncio.run(storm(port, 200, args.clients))  # warm-up (JIT, pools)
        before = cpu_seconds(relay.pid)
        started = time.monotonic()
        outcomes = asyncio.run(storm(port, args.count, args.clients))
        wall = time.monotonic() - started
        used = cpu_seconds(relay.pid) - before
        holder.close()
        print(json.dumps({"dll": args.dll, "count": args.count, "clients": args.clients, "outcomes": outcomes,
                          "relay_cpu_s": round(used, 3), "cpu_us_per_refusal": round(used / args.count * 1e6, 1),
                          "wall_s": round(wall, 2), "refusals_per_s": round(args.count / wall)}))
    finally:
        relay.send_signal(signal.SIGTERM)
        try:
            relay.wait(20)
        except subprocess.TimeoutExpired:
            relay.kill()
        os.unlink(config.name)


if __name__ == "__main__":
    main()
