"""A floor below any proxy on Node: a TCP relay that copies nothing in user space.

In front of 127.0.0.1:argv[1], no HTTP. Each direction of each connection is a
thread that moves bytes socket -> pipe -> socket with os.splice (Linux, Python
3.10+), so the payload never enters this process's memory: what is left is the
kernel's work of the extra hop (the two socket copies into and out of the pipe's
pages, the loopback transmit) and a third process's wake-ups. The pipe is 1 MiB
(F_SETPIPE_SZ) when the system allows it. EOF passes on as a half-close.
Prints its port on stdout, then serves until killed.
"""

import fcntl
import os
import socket
import sys
import threading

UPSTREAM_PORT = int(sys.argv[1])
PIPE_BYTES = 1024 * 1024
SPLICE_BYTES = 1024 * 1024
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def pump(src: socket.socket, dst: socket.socket) -> None:
    r, w = os.pipe()
    try:
        try:
            fcntl.fcntl(w, F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass  # pipe-max-size below 1 MiB: keep the default 64 KiB pipe
        while True:
            n = os.splice(src.fileno(), w, SPLICE_BYTES, flags=os.SPLICE_F_MOVE)
            if n == 0:
                break
            while n > 0:
                n -= os.splice(r, dst.fileno(), n, flags=os.SPLICE_F_MOVE)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    finally:
        os.close(r)
        os.close(w)


def serve(client: socket.socket) -> None:
    upstream = socket.create_connection(("127.0.0.1", UPSTREAM_PORT))
    for s in (client, upstream):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    up = threading.Thread(target=pump, args=(client, upstream), daemon=True)
    up.start()
    pump(upstream, client)
    up.join()
    client.close()
    upstream.close()


def main() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    sys.stdout.write(f"{server.getsockname()[1]}\n")
    sys.stdout.flush()
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


main()
