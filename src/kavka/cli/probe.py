"""Does anything listen at the bootstrap servers? A quick TCP look before a command starts its client.

librdkafka treats a refused connection like any other failure and retries until the command's
``--timeout``; a user who forgot ``kavka serve`` would wait 10 s to be told so. `refused_everywhere`
opens one TCP connection to every address of every bootstrap server at once (non-blocking, no bytes
sent) and answers within ``wait`` seconds:

- every address refused the connection (RST: nothing listens there) -> the first one, as ``host:port``;
- anything else -> None: one address accepted (a broker, or something that may answer later), one did
  not answer within ``wait`` (a dropped SYN, a slow network), a name did not resolve, or a server entry
  could not be parsed. The client then runs as before and reports with its own timeout.

So the look never fails a command that would have worked, and costs one connect round trip per address.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time

__all__ = ["refused_everywhere"]


def refused_everywhere(bootstrap: str, wait: float = 1.0) -> str | None:
    """``host:port`` of the first bootstrap server when every address of every server refused a TCP
    connection within ``wait`` seconds; None otherwise (see the module docstring)."""
    targets: list[tuple[str, tuple[int, int, int, object]]] = []
    for entry in (e.strip() for e in bootstrap.split(",")):
        if not entry:
            continue
        entry = entry.rpartition("://")[2]  # librdkafka accepts PLAINTEXT://host:port too
        host, sep, port_text = entry.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port_text.isdigit():
            return None
        try:
            infos = socket.getaddrinfo(host, int(port_text), type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        targets += [(entry, (family, kind, proto, address)) for family, kind, proto, _, address in infos]
    if not targets:
        return None
    selector = selectors.DefaultSelector()
    pending = 0
    try:
        for _, (family, kind, proto, address) in targets:
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            code = sock.connect_ex(address)  # type: ignore[arg-type]
            if code == 0:
                sock.close()
                return None
            if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                selector.register(sock, selectors.EVENT_WRITE)
                pending += 1
                continue
            sock.close()
            if code != errno.ECONNREFUSED:
                return None
        deadline = time.monotonic() + wait
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for key, _ in selector.select(left):
                sock = key.fileobj  # type: ignore[assignment]
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                selector.unregister(sock)
                sock.close()
                pending -= 1
                if code != errno.ECONNREFUSED:
                    return None
        return targets[0][0]
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
