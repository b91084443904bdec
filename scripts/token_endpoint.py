#!/usr/bin/env python3
"""Stand-in for the GitHub Actions OIDC token endpoint (and a failing STS), for tests.

GET  <any path>?...&audience=AUD with `Authorization: bearer <TOKEN>`
     -> 200 {"value": "<JWT>"}; the JWT carries GitHub-like claims with aud=AUD
        (default audience sts.amazonaws.com when the query has none). Its signature
        is random bytes: nothing can verify it, and moto does not try.
     -> 401 with a JSON error when the bearer token is missing or wrong.
POST <any path>
     -> 403 STS ErrorResponse (AccessDenied), so a test can point the STS endpoint
        here to get a realistic, non-retryable AssumeRoleWithWebIdentity failure.

Every request is appended to --log as one JSON object per line: method, path, query,
audience, whether the bearer token matched, the status sent, and for POSTs the STS
Action and RoleArn form fields. The token and the JWT are never logged.

Standard library only. The server binds to --host (127.0.0.1 or the gateway address
of a Docker network the test created) and writes its port to --port-file once it
listens. It exits by itself after --max-requests requests or --max-seconds seconds,
whichever comes first.
"""

import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(audience: str, repository: str, ref: str, now: int) -> str:
    owner = repository.split("/", 1)[0]
    run_id = "9876543210"
    workflow_ref = f"{repository}/.github/workflows/ci.yml@{ref}"
    header = {
        "alg": "RS256",
        "typ": "JWT",
        "kid": "38826b17-6a30-5f9b-b169-8beb8202f723",
        "x5t": "ykNaY4qM_ta4k2TgZOCEYLkcYlA",
    }
    claims = {
        "jti": str(uuid.uuid4()),
        "sub": f"repo:{repository}:ref:{ref}",
        "aud": audience,
        "ref": ref,
        "sha": "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a",
        "repository": repository,
        "repository_owner": owner,
        "repository_owner_id": "1234567",
        "repository_id": "7654321",
        "repository_visibility": "public",
        "run_id": run_id,
        "run_number": "42",
        "run_attempt": "1",
        "actor": "octocat",
        "actor_id": "583231",
        "workflow": "CI",
        "workflow_ref": workflow_ref,
        "workflow_sha": "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a",
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_protected": "true",
        "ref_type": "branch",
        "runner_environment": "github-hosted",
        "iss": "https://token.actions.githubusercontent.com",
        "nbf": now - 5,
        "iat": now,
        "exp": now + 300,
    }
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    return signing_input + "." + b64url(secrets.token_bytes(256))


STS_ACCESS_DENIED = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message>
  </Error>
  <RequestId>{request_id}</RequestId>
</ErrorResponse>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "token-endpoint-stand-in/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stderr quiet; requests go to --log
        pass

    def _record(self, entry):
        cfg = self.server.cfg
        with cfg["lock"]:
            with open(cfg["log"], "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
            cfg["count"] += 1
            if cfg["count"] >= cfg["max_requests"]:
                threading.Thread(target=self.server.shutdown, daemon=True).start()

    def _send(self, status, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        cfg = self.server.cfg
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        audience = query.get("audience", [None])[-1]
        auth = self.headers.get("Authorization", "")
        scheme, _, credential = auth.partition(" ")
        authorized = scheme.lower() == "bearer" and secrets.compare_digest(
            credential.strip().encode(), cfg["token"].encode())
        if authorized:
            jwt = make_jwt(audience or "sts.amazonaws.com", cfg["repository"], cfg["ref"],
                           int(time.time()))
            status, body = 200, json.dumps({"value": jwt}).encode()
        else:
            status, body = 401, json.dumps({"message": "Bad credentials"}).encode()
        self._send(status, body, "application/json; charset=utf-8")
        self._record({
            "method": "GET",
            "path": url.path,
            "query": {k: v[-1] for k, v in query.items()},
            "audience": audience,
            "authorized": authorized,
            "status": status,
            "user_agent": self.headers.get("User-Agent"),
        })

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace"))
        body = STS_ACCESS_DENIED.format(request_id=uuid.uuid4()).encode()
        self._send(403, body, "text/xml")
        self._record({
            "method": "POST",
            "path": urllib.parse.urlsplit(self.path).path,
            "action": form.get("Action", [None])[-1],
            "role_arn": form.get("RoleArn", [None])[-1],
            "status": 403,
        })


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True, help="written with the port once listening")
    ap.add_argument("--log", required=True, help="JSON-lines request log (appended)")
    ap.add_argument("--token", default=os.environ.get("TOKEN_ENDPOINT_BEARER"),
                    help="expected bearer token (default: $TOKEN_ENDPOINT_BEARER)")
    ap.add_argument("--repository", default="octo-org/octo-repo")
    ap.add_argument("--ref", default="refs/heads/main")
    ap.add_argument("--max-requests", type=int, default=100)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    if not args.token:
        ap.error("--token or TOKEN_ENDPOINT_BEARER is required")

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.cfg = {
        "token": args.token,
        "repository": args.repository,
        "ref": args.ref,
        "log": args.log,
        "lock": threading.Lock(),
        "count": 0,
        "max_requests": args.max_requests,
    }
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()

    port = server.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)
    print(f"token endpoint stand-in listening on {args.host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
