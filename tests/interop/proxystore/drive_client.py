#!/usr/bin/python3
"""Drives ProxyStore's own RelayClient (from a checkout named by PROXYSTORE_SRC) against a running relay.

Usage: drive_client.py --relay ws://127.0.0.1:PORT/ --step STEP [--token-a T --token-b T]

Steps (each prints one JSON line per check and exits 0 only if every check passed):
  exchange   two clients register, swap offer/answer, unknown peer comes back with the error prefix,
             the same UUID on a second client takes over (4004) and the first gives up
  restart    one client registers, then waits for the relay to restart (the caller kills and restarts it
             when this prints {"ready": ...}) and checks the client re-registered and forwarding works again
  auth       against a relay with JWT auth: no token gives up on 4001; user B taking user A's UUID gives up on 4002

No ProxyStore code lives here: only this driver and, when the installed websockets predates 13, a small
adapter that offers the websockets.asyncio.client API ProxyStore's client uses on top of the legacy client.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import types
import uuid

FAILED: list[str] = []


def check(name: str, ok: bool, detail: object = None) -> None:
    print(json.dumps({"check": name, "ok": bool(ok), "detail": None if detail is None else str(detail)}), flush=True)
    if not ok:
        FAILED.append(name)


def install_websockets_shim() -> str:
    """Gives websockets < 13 the websockets.asyncio.client / websockets.protocol names ProxyStore imports."""
    import websockets
    import websockets.client
    import websockets.exceptions

    try:
        import websockets.asyncio.client  # noqa: F401  (websockets >= 13: nothing to do)
        return f"websockets {websockets.__version__} (native asyncio API)"
    except ImportError:
        pass
    from websockets.connection import State
    from websockets.legacy.client import WebSocketClientProtocol

    async def connect(uri, *, open_timeout=10, ssl=None, additional_headers=None, **kwargs):
        if ssl is not None:
            kwargs["ssl"] = ssl
        return await websockets.client.connect(uri, open_timeout=open_timeout, extra_headers=additional_headers, **kwargs)

    asyncio_pkg = types.ModuleType("websockets.asyncio")
    asyncio_pkg.__path__ = []
    client_mod = types.ModuleType("websockets.asyncio.client")
    client_mod.connect = connect
    client_mod.ClientConnection = WebSocketClientProtocol
    asyncio_pkg.client = client_mod
    protocol_mod = types.ModuleType("websockets.protocol")
    protocol_mod.State = State
    sys.modules.update({"websockets.asyncio": asyncio_pkg, "websockets.asyncio.client": client_mod, "websockets.protocol": protocol_mod})
    websockets.asyncio = asyncio_pkg
    websockets.protocol = protocol_mod
    return f"websockets {websockets.__version__} (legacy client behind a websockets.asyncio shim)"


def import_proxystore():
    src = os.environ.get("PROXYSTORE_SRC")
    if not src or not os.path.isdir(os.path.join(src, "proxystore", "p2p", "relay")):
        sys.exit(f"PROXYSTORE_SRC must name a ProxyStore checkout (with proxystore/p2p/relay); got {src!r}")
    # proxystore/__init__.py asks importlib.metadata for its own version, which fails for an uninstalled checkout:
    # stand in a bare package so only the relay modules and what they import are loaded.
    pkg = types.ModuleType("proxystore")
    pkg.__path__ = [os.path.join(src, "proxystore")]
    sys.modules["proxystore"] = pkg
    sys.path.insert(0, src)
    from proxystore.p2p.relay import client, exceptions, messages

    return client, exceptions, messages


async def recv(client, timeout=5.0):
    return await asyncio.wait_for(client.recv(), timeout)


async def step_exchange(relay: str) -> None:
    client_mod, exc, msg = import_proxystore()
    RelayClient = client_mod.RelayClient
    a = RelayClient(relay, client_name="alpha", reconnect_task=False)
    b = RelayClient(relay, client_name="beta", reconnect_task=False)
    await a.connect()
    await b.connect()
    check("register_two_clients", True)

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

    # Take-over, as ProxyStore's test_relay_server_duplicate_registration does it.
    shared = uuid.uuid4()
    c1 = RelayClient(relay, client_uuid=shared, reconnect_task=False)
    c2 = RelayClient(relay, client_uuid=shared, reconnect_task=False)
    await c1.connect()
    await c2.connect()
    try:
        await c1.connect()
        check("takeover_old_client_gives_up", False, f"connect() returned; state={c1._websocket.state!r}")
    except exc.RelayRegistrationError as e:
        check("takeover_old_client_gives_up", "Relay received a registration with the same ID" in str(e), e)
    check("takeover_old_close_code_4004", c1._websocket.close_code == 4004, c1._websocket.close_code)
    # The new one owns the UUID: a message to it arrives there.
    await a.send(msg.PeerConnectionRequest(a.uuid, a.name, shared, "offer", "to-new"))
    got = await recv(c2)
    check("takeover_new_client_receives", isinstance(got, msg.PeerConnectionRequest) and got.description == "to-new", got)

    for c in (a, b, c1, c2):
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


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--step", choices=["exchange", "restart", "auth"], required=True)
    p.add_argument("--token-a")
    p.add_argument("--token-b")
    args = p.parse_args()
    print(json.dumps({"websockets": install_websockets_shim()}), flush=True)
    if args.step == "exchange":
        asyncio.run(step_exchange(args.relay))
    elif args.step == "restart":
        asyncio.run(step_restart(args.relay))
    else:
        asyncio.run(step_auth(args.relay, args.token_a, args.token_b))
    print(json.dumps({"step": args.step, "failed": FAILED}), flush=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
