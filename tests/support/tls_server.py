#!/usr/bin/env python3
"""HTTPS stand-in for the token endpoint and STS, for the TLS test.

GET  -> {"value": "<JWT-shaped token>"}; POST -> STS AccessDenied.
Usage: tls_server.py CERT KEY PORT_FILE MAX_SECONDS. Binds 127.0.0.1 only and
exits by itself after MAX_SECONDS.
"""
import base64
import http.server
import json
import ssl
import sys
import threading

cert, key, port_file, max_seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])


def b64(s):
    return base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode()


TOKEN = b64('{"alg":"RS256"}') + "." + b64('{"sub":"repo:o/r:ref:refs/heads/main","aud":"sts.amazonaws.com"}') + ".c2ln"
DENIED = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
          '<Code>AccessDenied</Code><Message>Not authorized over TLS</Message></Error>'
          '<RequestId>tls-1</RequestId></ErrorResponse>')


class Handler(http.server.BaseHTTPRequestHandler):
    def _send(self, status, body, ctype):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, json.dumps({"value": TOKEN}), "application/json")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(403, DENIED, "text/xml")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Timer(max_seconds, server.shutdown).start()
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
