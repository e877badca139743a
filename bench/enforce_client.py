#!/usr/bin/env python3
"""Client side of bench/bench_enforce.sh: times TLS writes against a local tls_server.py.

  kill-time N PAYLOAD   N connections, each writes PAYLOAD once (raw, no HTTP), then waits for the
                        socket to be aborted: prints the ms from the write call to the abort.
  write-latency N SIZE  one connection, N clean writes of SIZE bytes: prints the us of each call.
  upload SIZE N         N uploads of SIZE clean bytes as one HTTP POST write each, answer awaited:
                        prints the ms of each.
"""
import select, socket, ssl, sys, time

port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
args = sys.argv[4:]
ctx = ssl.create_default_context(cafile=ca)


def conn():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.settimeout(30)
    return s


out = []
if mode == "kill-time":
    n, payload = int(args[0]), args[1].encode()
    for _ in range(n):
        s = conn()
        t0 = time.perf_counter()
        try:
            s.sendall(payload)
            # The server never answers raw data: the socket becomes readable when it is aborted.
            r, _, _ = select.select([s], [], [], 5)
            t1 = time.perf_counter()
            if not r:
                print("TIMEOUT", flush=True)
                continue
            s.recv(100)
            print("NOT-ABORTED", flush=True)
        except (OSError, ssl.SSLError):
            t1 = time.perf_counter()
            out.append((t1 - t0) * 1e3)
        s.close()
elif mode == "write-latency":
    n, size = int(args[0]), int(args[1])
    s = conn()
    data = (b"compte rendu de consultation sans identifiant. " * (size // 47 + 1))[:size]
    for _ in range(n):
        t0 = time.perf_counter()
        s.sendall(data)
        out.append((time.perf_counter() - t0) * 1e6)
    s.close()
elif mode == "upload":
    size, n = int(args[0]), int(args[1])
    body = (b"compte rendu de consultation sans identifiant. " * (size // 47 + 1))[:size]
    for _ in range(n):
        s = conn()
        t0 = time.perf_counter()
        s.sendall(b"POST /u HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        r = s.recv(200)
        out.append((time.perf_counter() - t0) * 1e3)
        assert r.startswith(b"HTTP/1.1 200"), r
        s.close()
for v in out:
    print("%.3f" % v)
