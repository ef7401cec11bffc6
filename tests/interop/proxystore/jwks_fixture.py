#!/usr/bin/python3
"""Test-only token issuer for ProxyStoreClientTests (the auth step): makes an RSA key, serves its JWKS on 127.0.0.1 and
writes a relay config using it plus two tokens (users alice and bob). Runs until killed.

Usage: jwks_fixture.py OUT_DIR RELAY_PORT   (writes OUT_DIR/relay.toml, OUT_DIR/token-a, OUT_DIR/token-b)
"""
import base64
import http.server
import json
import os
import sys
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

out, relay_port = sys.argv[1], int(sys.argv[2])
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
numbers = key.public_key().public_numbers()


def b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


jwks = json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}]}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(jwks)))
        self.end_headers()
        self.wfile.write(jwks)

    def log_message(self, *args):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = httpd.server_address[1]
issuer = "https://issuer.test"
for user, name in (("alice", "token-a"), ("bob", "token-b")):
    now = int(time.time())
    token = jwt.encode({"iss": issuer, "aud": "peerrelay", "sub": user, "iat": now, "exp": now + 3600}, key, algorithm="RS256", headers={"kid": "k1"})
    with open(os.path.join(out, name), "w") as f:
        f.write(token)
with open(os.path.join(out, "relay.toml"), "w") as f:
    f.write(f'host = "127.0.0.1"\nport = {relay_port}\n\n[auth]\nmethod = "jwt"\n\n[auth.kwargs]\n'
            f'issuer = "{issuer}"\naudience = "peerrelay"\njwks_url = "http://127.0.0.1:{port}/jwks.json"\n')
print("ready", flush=True)
httpd.serve_forever()
