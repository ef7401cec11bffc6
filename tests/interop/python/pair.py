#!/usr/bin/python3
"""Checks a running relay end to end with two aiortc peers in separate processes.

    /usr/bin/python3 tests/interop/python/pair.py --relay ws://127.0.0.1:8700/

Starts an answering peer, waits until it has registered, starts an offering peer, and
lets them exchange 1 MiB each way over a WebRTC data channel (``peer.py --mode bulk``).
Exit status 0 when both peers verified every byte; otherwise 1, with both peers' output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def start(args: argparse.Namespace, role: str, me: str, extra: list[str]) -> subprocess.Popen[str]:
    command = [
        sys.executable, os.path.join(HERE, 'peer.py'), '--relay', args.relay, '--role', role,
        '--uuid', me, '--name', f'pair-{role}', '--bytes', str(args.bytes), '--timeout', str(args.timeout),
    ]
    if args.token:
        command += ['--token', args.token]
    if args.loopback_only:
        command.append('--loopback-only')
    return subprocess.Popen(command + extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--relay', required=True, help='relay address, ws://host:port/')
    parser.add_argument('--token', default=None)
    parser.add_argument('--bytes', type=int, default=1024 * 1024)
    parser.add_argument('--timeout', type=float, default=45)
    parser.add_argument('--loopback-only', action='store_true')
    args = parser.parse_args()

    answerer_id, offerer_id = str(uuid.uuid4()), str(uuid.uuid4())
    answerer = start(args, 'answer', answerer_id, [])
    answerer_lines: list[str] = []
    registered = threading.Event()

    def read_answerer() -> None:
        for line in answerer.stdout:
            answerer_lines.append(line.rstrip('\n'))
            if '"event": "registered"' in line:
                registered.set()
        registered.set()

    reader = threading.Thread(target=read_answerer, daemon=True)
    reader.start()
    if not registered.wait(args.timeout) or answerer.poll() not in (None, 0):
        answerer.kill()
        print('\n'.join(answerer_lines), file=sys.stderr)
        print('pair.py: the answering peer did not register', file=sys.stderr)
        return 1

    offerer = start(args, 'offer', offerer_id, ['--peer', answerer_id])
    offerer_out, _ = offerer.communicate(timeout=args.timeout + 10)
    answerer.wait(timeout=args.timeout + 10)
    reader.join(timeout=5)
    ok = offerer.returncode == 0 and answerer.returncode == 0
    for name, lines in (('offerer', offerer_out.splitlines()), ('answerer', answerer_lines)):
        for line in lines:
            print(f'{name}: {line}', file=sys.stderr if not ok else sys.stdout)
    if ok:
        done = [json.loads(line) for line in offerer_out.splitlines() if '"event": "done"' in line][-1]
        print(f'pair.py: ok, {done["received_bytes"]} bytes each way verified through {args.relay}')
        return 0
    print(f'pair.py: failed (offerer exit {offerer.returncode}, answerer exit {answerer.returncode})', file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
