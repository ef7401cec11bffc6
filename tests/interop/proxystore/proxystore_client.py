#!/usr/bin/python3
"""Drives ProxyStore's own code (its RelayClient and PeerManager, vendored unmodified in ../shared/vendor/python) against
a running PeerRelay. The xunit tests in tests/PeerRelay.Interop.Tests/ProxyStoreClientTests.cs start the relay, run one
step each and restart or drain the relay when a step asks for it.

Usage: proxystore_client.py --relay ws://127.0.0.1:PORT/ --step STEP [options]
       (--relay-b and --relay-c: a fleet's second and third nodes, where exchange, takeover-loop and manager put
       their other ends)

Steps (each prints one JSON line per check and exits 0 only if every check passed):
  exchange       three clients register, swap offer/answer, unknown peer comes back with the error prefix, the
                 third reaches both others, the same UUID on a second client takes over (4004) and the first gives
                 up, then on a third client (the second gives up)
  takeover-loop  ProxyStore's test_relay_server_duplicate_registration, --count times (fresh UUID each time)
  restart        one client registers, prints {"ready": ...}; the caller restarts the relay; the client re-registers
  refused        (relay with max_connections_per_ip = 1) a second endpoint is refused with 1013 while the first holds
                 the slot, keeps retrying, and registers by itself once the first leaves
  drain          one endpoint registered and one silent socket; prints {"ready": ...}; the caller drains (SIGTERM) and
                 restarts the relay; a second endpoint started during the drain and the first both end up registered
  burst          --count messages back to back from one client all arrive at the other, in order
  manager        two PeerManagers connect over real WebRTC (aiortc) through the relay and swap data both ways; a
                 third connects to the second
  auth           against a relay with JWT auth: no token gives up on 4001; user B taking user A's UUID gives up on 4002

PYTHONPATH must put ../shared/vendor/python (ProxyStore and the websockets it needs) first.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import socket
import sys
import uuid

FAILED: list[str] = []


def check(name: str, ok: bool, detail: object = None) -> None:
    print(json.dumps({"check": name, "ok": bool(ok), "detail": None if detail is None else str(detail)}), flush=True)
    if not ok:
        FAILED.append(name)


def event(**fields) -> None:
    print(json.dumps(fields), flush=True)


def import_proxystore():
    from proxystore.p2p.relay import client, exceptions, messages

    return client, exceptions, messages


class RetryLog(logging.Handler):
    """Collects ProxyStore's RelayClient warnings ("Registration ... failed because of ... Retrying ...")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self.changed = asyncio.Event()
        logging.getLogger("proxystore.p2p.relay.client").addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.changed.set()

    async def wait_for(self, text: str, timeout: float) -> str:
        async def seen():
            while True:
                for line in self.lines:
                    if text in line and "Retrying" in line:
                        return line
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(seen(), timeout)


async def recv(client, timeout=5.0):
    return await asyncio.wait_for(client.recv(), timeout)


async def expect_gives_up(exc, name: str, client) -> None:
    """A client whose UUID was taken over: connecting again raises ProxyStore's registration error (the 4004)."""
    try:
        await client.connect()
        check(name, False, f"connect() returned; state={client._websocket.state!r}")
    except exc.RelayRegistrationError as e:
        check(name, "Relay received a registration with the same ID" in str(e), e)


async def step_exchange(relay: str, relay_b: str, relay_c: str) -> None:
    """relay_b, relay_c: where beta, gamma and the take-overs' later clients connect (other nodes of a fleet, or the
    same relay)."""
    client_mod, exc, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    a = RelayClient(relay, client_name="alpha", reconnect_task=False)
    b = RelayClient(relay_b, client_name="beta", reconnect_task=False)
    g = RelayClient(relay_c, client_name="gamma", reconnect_task=False)
    await a.connect()
    await b.connect()
    await g.connect()
    check("register_three_clients", True)

    offer = msg.PeerConnectionRequest(a.uuid, a.name, b.uuid, "offer", json.dumps({"sdp": "v=0\r\n...", "type": "offer"}))
    await a.send(offer)
    got = await recv(b)
    check("offer_delivered_unchanged", got == offer, got)
    answer = msg.PeerConnectionRequest(b.uuid, b.name, a.uuid, "answer", "answer-sdp ünïcode ✓")
    await b.send(answer)
    got = await recv(a)
    check("answer_delivered_unchanged", got == answer, got)

    stranger = uuid.uuid4()
    await a.send(msg.PeerConnectionRequest(a.uuid, a.name, stranger, "offer", "x"))
    got = await recv(a)
    check(
        "unknown_peer_echoed_with_error",
        isinstance(got, msg.PeerConnectionRequest) and got.peer_uuid == stranger
        and (got.error or "").startswith(f"Cannot forward peer connection message to peer {stranger}"),
        got,
    )
    # The connection stays usable after the error.
    await a.send(offer)
    got = await recv(b)
    check("usable_after_unknown_peer", got == offer, got)

    # The third endpoint reaches both others (on a fleet: from the third node to the first and the second).
    for target in (a, b):
        hello = msg.PeerConnectionRequest(g.uuid, g.name, target.uuid, "offer", f"from gamma to {target.name}")
        await g.send(hello)
        got = await recv(target)
        check(f"gamma_reaches_{target.name}", got == hello, got)

    # Take-over, as ProxyStore's test_relay_server_duplicate_registration does it.
    shared = uuid.uuid4()
    c1 = RelayClient(relay, client_uuid=shared, reconnect_task=False)
    c2 = RelayClient(relay_b, client_uuid=shared, reconnect_task=False)
    await c1.connect()
    await c2.connect()
    await expect_gives_up(exc, "takeover_old_client_gives_up", c1)
    check("takeover_old_close_code_4004", c1._websocket.close_code == 4004, c1._websocket.close_code)
    # The new one owns the UUID: a message to it arrives there.
    await a.send(msg.PeerConnectionRequest(a.uuid, a.name, shared, "offer", "to-new"))
    got = await recv(c2)
    check("takeover_new_client_receives", isinstance(got, msg.PeerConnectionRequest) and got.description == "to-new", got)

    # Taken over once more, from the third relay: the second client gives up in turn, the third receives.
    c3 = RelayClient(relay_c, client_uuid=shared, reconnect_task=False)
    await c3.connect()
    await expect_gives_up(exc, "second_takeover_old_client_gives_up", c2)
    await b.send(msg.PeerConnectionRequest(b.uuid, b.name, shared, "offer", "to-third"))
    got = await recv(c3)
    check("second_takeover_new_client_receives", isinstance(got, msg.PeerConnectionRequest) and got.description == "to-third", got)

    for c in (a, b, g, c1, c2, c3):
        await c.close()


async def step_restart(relay: str) -> None:
    client_mod, exc, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    a = RelayClient(relay, client_name="alpha")  # reconnect_task=True: the background task reconnects
    a._initial_backoff_seconds = 0.2
    await a.connect()
    first = a.websocket
    print(json.dumps({"ready": str(a.uuid)}), flush=True)
    # Wait for the caller to stop the relay, then for the client to be back on a new socket.
    await asyncio.wait_for(first.wait_closed(), 60)
    check("closed_when_relay_stopped", True, first.close_code)

    async def reconnected():
        while True:
            ws = a._websocket
            if ws is not first and ws is not None and ws.state == a._websocket.state.__class__.OPEN:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reconnected(), 60)
    check("reconnected_after_restart", True)
    b = RelayClient(relay, client_name="beta", reconnect_task=False)
    await b.connect()
    req = msg.PeerConnectionRequest(b.uuid, b.name, a.uuid, "offer", "after-restart")
    await b.send(req)
    got = await recv(a)
    check("forward_after_restart", got == req, got)
    await b.close()
    await a.close()


async def step_auth(relay: str, token_a: str, token_b: str) -> None:
    import websockets.exceptions

    client_mod, exc, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    anon = RelayClient(relay, reconnect_task=False)
    anon._initial_backoff_seconds = 30  # a retry would show as a time-out here
    try:
        await asyncio.wait_for(anon.connect(), 10)
        check("no_token_gives_up_4001", False, "connected")
    except websockets.exceptions.ConnectionClosed as e:
        check("no_token_gives_up_4001", e.rcvd is not None and e.rcvd.code == 4001 and e.rcvd.reason.startswith("UnauthorizedError: "), e)
    except asyncio.TimeoutError:
        check("no_token_gives_up_4001", False, "retried instead of giving up")

    a = RelayClient(relay, extra_headers={"Authorization": f"Bearer {token_a}"}, reconnect_task=False)
    await a.connect()
    check("token_registers", True)
    thief = RelayClient(relay, client_uuid=a.uuid, extra_headers={"Authorization": f"Bearer {token_b}"}, reconnect_task=False)
    thief._initial_backoff_seconds = 30
    try:
        await asyncio.wait_for(thief.connect(), 10)
        check("foreign_uuid_gives_up_4002", False, "connected")
    except websockets.exceptions.ConnectionClosed as e:
        check(
            "foreign_uuid_gives_up_4002",
            e.rcvd is not None and e.rcvd.code == 4002 and e.rcvd.reason.startswith(f"ForbiddenError: The client UUID {a.uuid} is already registered"),
            e,
        )
    except asyncio.TimeoutError:
        check("foreign_uuid_gives_up_4002", False, "retried instead of giving up")
    # The owner keeps its socket.
    check("owner_still_connected", a.websocket is not None)
    await a.close()


async def takeover_once(RelayClient, exc, relay: str, relay_b: str) -> str | None:
    """ProxyStore's own test_relay_server_duplicate_registration (client2 on relay_b); None when it passes, else what went wrong."""
    uid = uuid.uuid4()
    client1 = RelayClient(relay, client_uuid=uid, reconnect_task=False)
    client2 = RelayClient(relay_b, client_uuid=uid, reconnect_task=False)
    try:
        await client1.connect()
        # This will cause the relay to close the websocket to client1.
        await client2.connect()
        try:
            await client1.connect()
            return f"DID NOT RAISE RelayRegistrationError (old socket state {client1._websocket.state!r})"
        except exc.RelayRegistrationError as e:
            if "Relay received a registration with the same ID" not in str(e):
                return f"wrong error: {e}"
        return None
    finally:
        await client1.close()
        await client2.close()


async def step_takeover_loop(relay: str, relay_b: str, relay_c: str, count: int) -> None:
    """Each run's two clients on one of the pairs (relay, relay_b), (relay_b, relay_c), (relay_c, relay), in turn."""
    client_mod, exc, _ = import_proxystore()
    failures = []
    pairs = [(relay, relay_b), (relay_b, relay_c), (relay_c, relay)]
    for i in range(count):
        problem = await takeover_once(client_mod.RelayClient, exc, *pairs[i % len(pairs)])
        if problem is not None:
            failures.append(f"run {i + 1}: {problem}")
    check(f"duplicate_registration_{count}_runs", not failures, "; ".join(failures[:5]) or f"{count} of {count} passed")


async def step_refused(relay: str) -> None:
    client_mod, _, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    retries = RetryLog()
    first = RelayClient(relay, client_name="first", reconnect_task=False)
    await first.connect()
    second = RelayClient(relay, client_name="second", reconnect_task=False)
    connecting = asyncio.create_task(second.connect())
    line = await retries.wait_for("1013", 30)
    check("second_refused_with_1013_and_retrying", "max_connections_per_ip" in line, line)
    check("second_still_trying", not connecting.done(), connecting)
    await first.close()
    # ProxyStore's back-off: 1 s, then 2 s, 4 s... the second endpoint must get in by itself.
    await asyncio.wait_for(connecting, 60)
    check("second_registered_by_itself", second.websocket is not None)
    await second.close()


def silent_registered_socket(relay: str) -> socket.socket:
    """A raw WebSocket that registers and then never reads again: it never answers a close, so a drain waits for it
    until close_timeout."""
    host, port = relay.split("//")[1].strip("/").split(":")
    sock = socket.create_connection((host, int(port)), 10)
    sock.sendall((f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = json.dumps({"message_type": "RelayRegistrationRequest", "name": "silent", "uuid": str(uuid.uuid4())}).encode()
    mask = b"\x01\x02\x03\x04"
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


async def step_drain(relay: str) -> None:
    client_mod, _, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    retries = RetryLog()
    first = RelayClient(relay, client_name="first")  # reconnect_task=True: reconnects by itself
    await first.connect()
    before = first.websocket
    silent = silent_registered_socket(relay)
    event(ready=str(first.uuid))
    # The caller sends SIGTERM: the relay closes every client with 1001 and turns new sockets away with 1013 until the
    # silent socket is cut at close_timeout; then it exits and the caller starts it again on the same port.
    await asyncio.wait_for(before.wait_closed(), 60)
    check("first_closed_with_1001", before.close_code == 1001, before.close_code)
    second = RelayClient(relay, client_name="second", reconnect_task=False)
    connecting = asyncio.create_task(second.connect())
    line = await retries.wait_for("1013", 30)
    check("refused_with_1013_while_draining", "shutting down" in line, line)
    event(draining=True)
    await asyncio.wait_for(connecting, 90)
    check("second_registered_after_restart", second.websocket is not None)

    async def first_back():
        while first._websocket is before or first._websocket is None or first._websocket.state != before.state.__class__.OPEN:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(first_back(), 90)
    check("first_reregistered_by_itself", True)
    request = msg.PeerConnectionRequest(second.uuid, second.name, first.uuid, "offer", "after-drain")
    await second.send(request)
    got = await recv(first, 10)
    check("forward_after_drain_and_restart", got == request, got)
    silent.close()
    await second.close()
    await first.close()


async def step_burst(relay: str, count: int) -> None:
    client_mod, _, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    sender = RelayClient(relay, client_name="sender", reconnect_task=False)
    receiver = RelayClient(relay, client_name="receiver", reconnect_task=False)
    await sender.connect()
    await receiver.connect()
    for i in range(count):
        await sender.send(msg.PeerConnectionRequest(sender.uuid, sender.name, receiver.uuid, "candidate", f"message {i}"))
    received = []
    try:
        while len(received) < count:
            got = await recv(receiver, 30)
            received.append(got)
    except asyncio.TimeoutError:
        pass
    errors = [m for m in received if getattr(m, "error", None)]
    in_order = [m.description for m in received] == [f"message {i}" for i in range(count)]
    check(f"all_{count}_arrived_in_order", len(received) == count and in_order and not errors,
          f"received {len(received)}, in order {in_order}, errors {errors[:1]}")
    # Nothing came back to the sender (no RateLimitError or any other answer).
    try:
        extra = await asyncio.wait_for(sender.recv(), 0.5)
        check("sender_got_no_error", False, extra)
    except asyncio.TimeoutError:
        check("sender_got_no_error", True)
    await sender.close()
    await receiver.close()


async def step_manager(relay: str, relay_b: str, relay_c: str) -> None:
    client_mod, _, _ = import_proxystore()
    from proxystore.p2p.manager import PeerManager

    RelayClient = client_mod.RelayClient
    a = await PeerManager(RelayClient(relay, client_name="manager-a"))
    b = await PeerManager(RelayClient(relay_b, client_name="manager-b"))
    c = await PeerManager(RelayClient(relay_c, client_name="manager-c"))
    payload = bytes(range(256)) * 4096  # 1 MiB, chunked by ProxyStore over its data channel
    await a.send(b.uuid, payload, timeout=60)
    source, got = await asyncio.wait_for(b.recv(), 60)
    check("a_to_b_over_webrtc", source == a.uuid and hashlib.sha256(got).digest() == hashlib.sha256(payload).digest(),
          f"{len(got)} bytes from {source}")
    await b.send(a.uuid, "pong", timeout=60)
    source, got = await asyncio.wait_for(a.recv(), 60)
    check("b_to_a_over_webrtc", source == b.uuid and got == "pong", got)
    # A third manager (on a fleet: the third node) sets up its own connection to the second.
    await c.send(b.uuid, "hello from c", timeout=60)
    source, got = await asyncio.wait_for(b.recv(), 60)
    check("c_to_b_over_webrtc", source == c.uuid and got == "hello from c", got)
    await a.close()
    await b.close()
    await c.close()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--relay-b", help="second relay node (a fleet): exchange, takeover-loop and manager put one end there")
    p.add_argument("--relay-c", help="third relay node (a fleet): exchange, takeover-loop and manager put a third end there")
    p.add_argument("--step", required=True,
                   choices=["exchange", "takeover-loop", "restart", "refused", "drain", "burst", "manager", "auth"])
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--token-a")
    p.add_argument("--token-b")
    args = p.parse_args()
    relay_b = args.relay_b or args.relay
    relay_c = args.relay_c or relay_b
    import websockets

    event(websockets=websockets.__version__)
    steps = {
        "exchange": lambda: step_exchange(args.relay, relay_b, relay_c),
        "takeover-loop": lambda: step_takeover_loop(args.relay, relay_b, relay_c, args.count),
        "restart": lambda: step_restart(args.relay),
        "refused": lambda: step_refused(args.relay),
        "drain": lambda: step_drain(args.relay),
        "burst": lambda: step_burst(args.relay, args.count),
        "manager": lambda: step_manager(args.relay, relay_b, relay_c),
        "auth": lambda: step_auth(args.relay, args.token_a, args.token_b),
    }
    asyncio.run(steps[args.step]())
    event(step=args.step, failed=FAILED)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
