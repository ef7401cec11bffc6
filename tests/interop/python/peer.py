#!/usr/bin/python3
"""An aiortc WebRTC peer that negotiates through a PeerRelay (or ProxyStore) relay.

It registers with the relay exactly as ProxyStore's client does, then either offers
a connection to ``--peer`` (``--role offer``) or answers the first offer it gets
(``--role answer``), opens a data channel and runs one exchange:

``--mode bulk``  both sides send ``--bytes`` random bytes (default 1 MiB) and check
                 what they received byte for byte (length and SHA-256 announced by
                 the sender after the data).
``--mode chat``  send ``--send`` when the channel opens; answer every text message
                 with ``echo: <text>``; done after ``--expect`` messages arrived.
``--mode signal`` signalling only, for peers without a WebRTC stack: done once the
                 answer is sent (answerer) or the peer's answer was accepted by
                 setRemoteDescription (offerer); no connection is made.

Progress goes to stdout as one JSON object per line (``{"event": ...}``) so that a
test can follow it. Exit status 0 on success; 1 with ``{"event": "error"}`` and a
message on stderr otherwise.

Trickle ICE: aiortc gathers its candidates before it creates a description, so this
peer never trickles. It accepts trickled ``candidate`` messages from browsers (the
description holds ``RTCIceCandidate.toJSON()``; an empty ``candidate`` marks the end).

Use Debian's interpreter (``/usr/bin/python3``), which has python3-aiortc.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import uuid as uuidlib

from relayproto import RelayConnection
from relayproto import RelayError
from webrtcpeer import WebRtcPeer


def emit(event: str, /, **fields: object) -> None:
    print(json.dumps({'event': event, **fields}), flush=True)


class Exchange:
    """The data-channel side of the test: bulk transfer or chat."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.done = asyncio.Event()
        self.failed: str | None = None
        self.channel = None
        self._received = hashlib.sha256()
        self._received_bytes = 0
        self._sent_sha256 = ''
        self._verified_by_peer = False
        self._verified_here = False
        self._peer_bye = False
        self._texts_received = 0

    def fail(self, why: str) -> None:
        if self.failed is None:
            self.failed = why
        self.done.set()

    def attach(self, channel) -> None:
        self.channel = channel

        @channel.on('message')
        def on_message(message: bytes | str) -> None:
            try:
                self._on_message(message)
            except Exception as e:  # noqa: BLE001 - reported, never swallowed
                self.fail(f'bad data-channel message: {e!r}')

        @channel.on('close')
        def on_close() -> None:
            emit('channel_closed')
            if not self._complete():
                self.fail('data channel closed before the exchange finished')
            self.done.set()

    async def run(self) -> None:
        emit('channel_open', label=self.channel.label)
        if self.args.mode == 'bulk':
            await self._send_bulk()
        elif self.args.send is not None:
            self.channel.send(self.args.send)
            emit('sent', text=self.args.send)

    async def _send_bulk(self) -> None:
        data = os.urandom(self.args.bytes)
        self._sent_sha256 = hashlib.sha256(data).hexdigest()
        chunk = 16 * 1024
        low = asyncio.Event()
        self.channel.bufferedAmountLowThreshold = 256 * 1024

        @self.channel.on('bufferedamountlow')
        def on_low() -> None:
            low.set()

        for offset in range(0, len(data), chunk):
            while self.channel.bufferedAmount > 1024 * 1024:
                low.clear()
                await low.wait()
            self.channel.send(data[offset:offset + chunk])
        self.channel.send(json.dumps({'done': True, 'bytes': len(data), 'sha256': self._sent_sha256}))
        emit('bulk_sent', bytes=len(data), sha256=self._sent_sha256)

    def _complete(self) -> bool:
        if self.args.mode == 'bulk':
            return self._verified_here and self._verified_by_peer
        return self._texts_received >= self.args.expect

    def _on_message(self, message: bytes | str) -> None:
        if isinstance(message, bytes):
            if self.args.mode != 'bulk':
                raise ValueError('binary message in chat mode')
            self._received.update(message)
            self._received_bytes += len(message)
            return
        if self.args.mode == 'chat':
            self._texts_received += 1
            emit('received', text=message)
            if not message.startswith('echo: '):
                self.channel.send(f'echo: {message}')
                emit('sent', text=f'echo: {message}')
            if self._complete():
                self.done.set()
            return
        control = json.loads(message)
        if control.get('done'):
            digest = self._received.hexdigest()
            ok = control['bytes'] == self._received_bytes and control['sha256'] == digest
            emit('bulk_received', bytes=self._received_bytes, sha256=digest, expected_sha256=control['sha256'])
            self.channel.send(json.dumps({'verified': ok, 'bytes': self._received_bytes, 'sha256': digest}))
            if not ok:
                self.fail(
                    f'received {self._received_bytes} bytes with sha256 {digest}, '
                    f'peer sent {control["bytes"]} bytes with sha256 {control["sha256"]}',
                )
                return
            self._verified_here = True
        elif 'verified' in control:
            if not control['verified'] or control['sha256'] != self._sent_sha256:
                self.fail(f'peer did not verify the data it received from us: {control}')
                return
            self._verified_by_peer = True
            emit('peer_verified', bytes=control['bytes'], sha256=control['sha256'])
        elif control.get('bye'):
            self._peer_bye = True
        if self._complete():
            # Say bye so that neither side closes while the other's last message is in flight.
            if not getattr(self, '_bye_sent', False):
                self._bye_sent = True
                self.channel.send(json.dumps({'bye': True}))
            if self._peer_bye:
                self.done.set()

    def summary(self) -> dict[str, object]:
        if self.args.mode == 'bulk':
            return {
                'sent_sha256': self._sent_sha256,
                'received_sha256': self._received.hexdigest(),
                'received_bytes': self._received_bytes,
            }
        return {'texts_received': self._texts_received}


async def main(args: argparse.Namespace) -> int:
    relay = RelayConnection(args.relay, args.name, args.uuid, args.token)
    exchange = Exchange(args)
    peer = WebRtcPeer(relay, exchange, loopback_only=args.loopback_only, emit=emit)
    receiver: asyncio.Future[None] | None = None
    try:
        async with asyncio.timeout(args.timeout):
            await relay.connect()
            emit('registered', uuid=args.uuid, name=args.name)
            receiver = asyncio.ensure_future(peer.receive_loop())
            if args.role == 'offer':
                await peer.offer(args.peer)
            if args.mode == 'signal':
                negotiated = asyncio.ensure_future(peer.negotiated.wait())
                finished, _ = await asyncio.wait({receiver, negotiated}, return_when=asyncio.FIRST_COMPLETED)
                if receiver in finished:
                    receiver.result()
                    raise RelayError('relay connection ended before the offer/answer exchange finished')
                emit('done', remote_description=peer.pc.remoteDescription.type, local_description=peer.pc.localDescription.type)
                return 0
            opened = asyncio.ensure_future(peer.channel_open.wait())
            finished, _ = await asyncio.wait({receiver, opened}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in finished:
                receiver.result()
                raise RelayError('relay connection ended before the data channel opened')
            await exchange.run()
            waiter = asyncio.ensure_future(exchange.done.wait())
            finished, _ = await asyncio.wait({receiver, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in finished and not exchange.done.is_set():
                receiver.result()
                raise RelayError('relay connection ended before the exchange finished')
            receiver.cancel()
            if exchange.failed:
                raise RelayError(exchange.failed)
            if args.mode == 'chat' and args.linger > 0:
                # Give the peer time to read our last message before the connection goes away.
                try:
                    await asyncio.wait_for(peer.closed.wait(), args.linger)
                except asyncio.TimeoutError:
                    pass
        emit('done', **exchange.summary())
        return 0
    except TimeoutError:
        return error(f'timed out after {args.timeout} s (last step: {peer.last_step})')
    except RelayError as e:
        return error(str(e))
    except Exception as e:  # noqa: BLE001 - any other failure is reported the same way
        return error(f'unexpected {e!r} (last step: {peer.last_step})')
    finally:
        if receiver is not None:
            if not receiver.done():
                receiver.cancel()
            elif not receiver.cancelled():
                receiver.exception()  # retrieved: already reported above or irrelevant after success
        await peer.close()
        await relay.close()


def error(message: str) -> int:
    emit('error', error=message)
    print(f'peer.py: error: {message}', file=sys.stderr, flush=True)
    return 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--relay', required=True, help='relay address, ws://host:port/')
    parser.add_argument('--role', choices=('offer', 'answer'), required=True)
    parser.add_argument('--uuid', default=None, help='this peer\'s UUID (default: random)')
    parser.add_argument('--name', default='aiortc-peer')
    parser.add_argument('--peer', default=None, help='UUID of the peer to offer to (--role offer)')
    parser.add_argument('--token', default=None, help='bearer token sent in the Authorization header')
    parser.add_argument('--mode', choices=('bulk', 'chat', 'signal'), default='bulk')
    parser.add_argument('--bytes', type=int, default=1024 * 1024, help='bulk: bytes to send (default 1 MiB)')
    parser.add_argument('--send', default=None, help='chat: text to send when the channel opens')
    parser.add_argument('--expect', type=int, default=1, help='chat: messages to receive before done')
    parser.add_argument('--linger', type=float, default=5, help='chat: seconds to wait for the peer to close')
    parser.add_argument('--timeout', type=float, default=45, help='overall deadline in seconds')
    parser.add_argument(
        '--loopback-only',
        action='store_true',
        help='use and accept only 127.0.0.1 ICE candidates (tests on a machine without a network)',
    )
    args = parser.parse_args(argv)
    if args.role == 'offer' and not args.peer:
        parser.error('--role offer needs --peer')
    args.uuid = str(uuidlib.UUID(args.uuid)) if args.uuid else str(uuidlib.uuid4())
    if args.peer:
        args.peer = str(uuidlib.UUID(args.peer))
    return args


if __name__ == '__main__':
    sys.exit(asyncio.run(main(parse_args())))
