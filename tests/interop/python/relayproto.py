"""The relay wire protocol as ProxyStore's relay client speaks it (see docs/protocol.md).

Messages are plain dicts serialised with ``json.dumps`` in the same key order as
ProxyStore's dataclasses, with ``message_type`` holding the lower-case name.
A session description travels as the JSON text ``{"sdp": ..., "type": ...}``;
a trickled ICE candidate (browsers) as ``{"candidate": ..., "sdpMid": ..., "sdpMLineIndex": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import uuid as uuidlib
from typing import Any

import websockets

# Close codes after which a ProxyStore client gives up instead of reconnecting.
FINAL_CLOSE_CODES = {4001: 'unauthorized', 4002: 'forbidden', 4004: 'same UUID registered elsewhere'}


class RelayError(Exception):
    """The relay refused something or the connection to it failed."""


def registration(name: str, uuid: str) -> str:
    return json.dumps({'name': name, 'uuid': uuid, 'message_type': 'relay_registration'})


def peer_connection(
    source_uuid: str,
    source_name: str,
    peer_uuid: str,
    description_type: str,
    description: str,
) -> str:
    return json.dumps(
        {
            'source_uuid': source_uuid,
            'source_name': source_name,
            'peer_uuid': peer_uuid,
            'description_type': description_type,
            'description': description,
            'error': None,
            'message_type': 'peer_connection',
        },
    )


def session_description_json(sdp: str, type_: str) -> str:
    """What aiortc's ``object_to_string`` (used by ProxyStore) writes for a session description."""
    return json.dumps({'sdp': sdp, 'type': type_}, sort_keys=True)


def decode(text: str) -> dict[str, Any]:
    """Decodes a relay message and checks the fields a client relies on."""
    data = json.loads(text)
    if not isinstance(data, dict) or 'message_type' not in data:
        raise RelayError(f'relay sent a message without message_type: {text[:200]}')
    kind = data['message_type']
    if kind == 'relay_response':
        for key in ('success', 'message', 'error'):
            if key not in data:
                raise RelayError(f'relay_response without {key}: {text[:200]}')
    elif kind == 'peer_connection':
        for key in ('source_uuid', 'source_name', 'peer_uuid', 'description_type', 'description', 'error'):
            if key not in data:
                raise RelayError(f'peer_connection without {key}: {text[:200]}')
        for key in ('source_uuid', 'peer_uuid'):
            uuidlib.UUID(data[key])
    else:
        raise RelayError(f'relay sent an unknown message_type {kind!r}')
    return data


class RelayConnection:
    """One WebSocket to the relay: registers, then sends and receives peer_connection messages."""

    def __init__(self, address: str, name: str, uuid: str, token: str | None = None) -> None:
        if not address.startswith(('ws://', 'wss://')):
            raise RelayError(f'relay address must start with ws:// or wss://, got {address!r}')
        self.address = address
        self.name = name
        self.uuid = uuid
        self._token = token
        self._socket: websockets.WebSocketClientProtocol | None = None

    async def connect(self, timeout: float = 10) -> None:
        headers = {'Authorization': f'Bearer {self._token}'} if self._token else None
        try:
            self._socket = await asyncio.wait_for(
                websockets.connect(self.address, extra_headers=headers, open_timeout=timeout),
                timeout,
            )
        except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as e:
            raise RelayError(f'cannot connect to relay {self.address}: {e!r}') from e
        await self._socket.send(registration(self.name, self.uuid))
        response = await self.receive(timeout)
        if response['message_type'] != 'relay_response':
            raise RelayError(f'expected relay_response to registration, got {response}')
        if not response['success']:
            raise RelayError(f'registration refused: {response["message"]}')

    async def send_peer_connection(self, peer_uuid: str, description_type: str, description: str) -> None:
        assert self._socket is not None
        await self._socket.send(
            peer_connection(self.uuid, self.name, peer_uuid, description_type, description),
        )

    async def receive(self, timeout: float | None = None) -> dict[str, Any]:
        assert self._socket is not None
        try:
            text = await asyncio.wait_for(self._socket.recv(), timeout)
        except asyncio.TimeoutError as e:
            raise RelayError(f'no message from the relay within {timeout} s') from e
        except websockets.exceptions.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else 1006
            reason = e.rcvd.reason if e.rcvd else ''
            why = FINAL_CLOSE_CODES.get(code, 'closed')
            raise RelayError(f'relay closed the connection: {code} {reason!r} ({why})') from e
        if not isinstance(text, str):
            raise RelayError('relay sent a binary frame')
        return decode(text)

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
