"""One aiortc RTCPeerConnection negotiated through the relay (offer, answer, trickled candidates)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from typing import Callable

import aioice.ice
from aiortc import RTCConfiguration
from aiortc import RTCPeerConnection
from aiortc import RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from relayproto import RelayConnection
from relayproto import RelayError
from relayproto import session_description_json

LOOPBACK = '127.0.0.1'
# The relay's reply when the peer is not registered (yet); the offerer retries until its deadline.
UNKNOWN_PEER_PREFIX = 'Cannot forward peer connection message to peer'


def use_loopback_only() -> None:
    """Makes aioice gather host candidates on 127.0.0.1 only (it skips loopback by default)."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [LOOPBACK] if use_ipv4 else []


def keep_loopback_candidates(sdp: str) -> str:
    """Drops every a=candidate line whose address is not 127.0.0.1."""
    lines = sdp.split('\r\n')
    kept = [
        line for line in lines
        if not line.startswith('a=candidate:') or line.split(' ')[4] == LOOPBACK
    ]
    return '\r\n'.join(kept)


class WebRtcPeer:
    """Negotiates one peer connection: as offerer (:meth:`offer`) or as answerer of the first offer received."""

    def __init__(
        self,
        relay: RelayConnection,
        exchange: Any,
        loopback_only: bool,
        emit: Callable[..., None],
    ) -> None:
        if loopback_only:
            use_loopback_only()
        self._relay = relay
        self._exchange = exchange
        self._loopback_only = loopback_only
        self._emit = emit
        # No STUN or TURN servers: aiortc would otherwise default to a public STUN server.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel_open = asyncio.Event()
        self.closed = asyncio.Event()
        # Set when offer and answer have both been applied (remote description of the offerer, answer sent).
        self.negotiated = asyncio.Event()
        self.last_step = 'created'
        self._peer_uuid: str | None = None
        self._pending_offer: str | None = None
        self._offer_retry_delay = 0.1

        @self.pc.on('iceconnectionstatechange')
        def on_ice_state() -> None:
            self._step('ice_state', state=self.pc.iceConnectionState)

        @self.pc.on('connectionstatechange')
        def on_connection_state() -> None:
            self._step('connection_state', state=self.pc.connectionState)
            if self.pc.connectionState in ('failed', 'closed'):
                self.closed.set()
                if self.pc.connectionState == 'failed':
                    self._exchange.fail('peer connection failed (ICE or DTLS)')

        @self.pc.on('datachannel')
        def on_datachannel(channel) -> None:
            self._watch_channel(channel)

    def _step(self, step: str, **fields: object) -> None:
        self.last_step = step if not fields else f'{step} {fields}'
        self._emit(step, **fields)

    def _watch_channel(self, channel) -> None:
        self._exchange.attach(channel)

        def opened() -> None:
            self._step('channel_opened')
            self.channel_open.set()

        if channel.readyState == 'open':
            opened()
        else:
            channel.on('open', opened)

        @channel.on('close')
        def on_close() -> None:
            self.closed.set()

    def _local_description(self) -> str:
        description = self.pc.localDescription
        sdp = keep_loopback_candidates(description.sdp) if self._loopback_only else description.sdp
        return session_description_json(sdp, description.type)

    async def offer(self, peer_uuid: str) -> None:
        self._peer_uuid = peer_uuid
        self._watch_channel(self.pc.createDataChannel('peerrelay'))
        # aiortc gathers every candidate inside setLocalDescription: the offer carries them, no trickle.
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._pending_offer = self._local_description()
        await self._relay.send_peer_connection(peer_uuid, 'offer', self._pending_offer)
        self._step('offer_sent', peer=peer_uuid)

    async def receive_loop(self) -> None:
        while True:
            message = await self._relay.receive()
            if message['message_type'] != 'peer_connection':
                self._step('relay_response', message=message['message'], success=message['success'])
                if message.get('error'):
                    raise RelayError(f'relay error: {message["message"]}')
                continue
            await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message['description_type']
        if message['error'] is not None:
            if self._pending_offer is not None and message['error'].startswith(UNKNOWN_PEER_PREFIX):
                # The answerer has not registered yet: offer again after a short back-off.
                self._step('peer_not_registered_yet', retry_in=self._offer_retry_delay)
                await asyncio.sleep(self._offer_retry_delay)
                self._offer_retry_delay = min(self._offer_retry_delay * 2, 1.0)
                await self._relay.send_peer_connection(self._peer_uuid, 'offer', self._pending_offer)
                return
            raise RelayError(f'relay returned our {kind} with error: {message["error"]}')
        source = message['source_uuid']
        if self._peer_uuid is None and kind == 'offer':
            self._peer_uuid = source
        if source != self._peer_uuid:
            self._step('ignored', reason='message from another peer', source=source, description_type=kind)
            return
        if kind == 'offer':
            await self._on_offer(message)
        elif kind == 'answer':
            self._pending_offer = None
            self._step('answer_received', peer=source)
            await self.pc.setRemoteDescription(self._session_description(message['description']))
            self.negotiated.set()
        elif kind == 'candidate':
            await self._on_candidate(message['description'])
        else:
            self._step('ignored', reason='unknown description_type', description_type=kind)

    def _session_description(self, text: str) -> RTCSessionDescription:
        data = json.loads(text)
        sdp = keep_loopback_candidates(data['sdp']) if self._loopback_only else data['sdp']
        return RTCSessionDescription(sdp=sdp, type=data['type'])

    async def _on_offer(self, message: dict[str, Any]) -> None:
        if self.pc.remoteDescription is not None:
            self._step('ignored', reason='second offer')
            return
        self._step('offer_received', peer=message['source_uuid'], name=message['source_name'])
        await self.pc.setRemoteDescription(self._session_description(message['description']))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._relay.send_peer_connection(message['source_uuid'], 'answer', self._local_description())
        self._step('answer_sent', peer=message['source_uuid'])
        self.negotiated.set()

    async def _on_candidate(self, text: str) -> None:
        data = json.loads(text) if text else None
        line = (data or {}).get('candidate') or ''
        if not line:
            # End of candidates (browsers send an empty candidate): tell the ICE transport.
            self._step('remote_candidates_end')
            if self.pc.sctp is not None:
                await self.pc.sctp.transport.transport.addRemoteCandidate(None)
            return
        candidate = candidate_from_sdp(line.split(':', 1)[1] if line.startswith('candidate:') else line)
        if self._loopback_only and candidate.ip != LOOPBACK:
            self._step('remote_candidate_skipped', candidate=line)
            return
        candidate.sdpMid = data.get('sdpMid')
        candidate.sdpMLineIndex = data.get('sdpMLineIndex')
        await self.pc.addIceCandidate(candidate)
        self._step('remote_candidate', candidate=line)

    async def close(self) -> None:
        await self.pc.close()
