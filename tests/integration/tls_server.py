#!/usr/bin/env python3
"""Test HTTPS/TLS server on loopback that records exactly what it received.

Each connection's decrypted bytes are appended to RECORD_DIR/conn-N.bin, so tests can assert on
what reached the peer. Requests are answered as HTTP/1.1 (200, small body) when they look like
HTTP; raw TLS clients just get their bytes recorded. The chosen port is written to --port-file.
"""
import argparse
import os
import socket
import ssl
import sys
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--record-dir", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--plain", action="store_true", help="no TLS (plaintext HTTP)")
parser.add_argument("--page", help="HTML file served for GET /")
args = parser.parse_args()

family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
ctx.set_alpn_protocols(["http/1.1"])

lock = threading.Lock()
counter = [0]


def handle(conn):
    with lock:
        counter[0] += 1
        n = counter[0]
    path = os.path.join(args.record_dir, f"conn-{n}.bin")
    buf = b""
    conn.settimeout(30)
    try:
        if not args.plain:
            conn = ctx.wrap_socket(conn, server_side=True)
        with open(path, "ab") as rec:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                rec.write(data)
                rec.flush()
                buf += data
                # Answer each complete HTTP request (headers + Content-Length body).
                while b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v.strip() or 0)
                    if len(rest) < length:
                        break
                    buf = rest[length:]
                    body, ctype = b"ok\n", b"text/plain"
                    if args.page and head.startswith(b"GET / "):
                        with open(args.page, "rb") as p:
                            body, ctype = p.read(), b"text/html"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: %s\r\n\r\n%s"
                                 % (len(body), ctype, body))
                if len(buf) > 64 << 20:
                    buf = b""
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((args.host, 0))
srv.listen(64)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(args.port_file + ".tmp", args.port_file)
sys.stdout.flush()
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
