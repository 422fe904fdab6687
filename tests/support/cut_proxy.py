"""A TCP proxy on loopback that a test can cut, to play an API-server outage.

``cut()`` closes the listening socket and every open connection: clients get
"connection refused" and their streams (watches) break, as when
kube-apiserver stops. ``restore()`` listens on the same port again. Bytes pass
through untouched (TLS end to end), so the client still checks the API
server's certificate, whose SAN 127.0.0.1 holds whatever the port.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CutProxy:
    """Forwards 127.0.0.1:``port`` to ``target`` until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        # A kubeconfig through the proxy, when a fixture writes one.
        self.kubeconfig = Path()
        self._listen()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.update({client, upstream})
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        with selectors.DefaultSelector() as sel:
            for sock in peers:
                sel.register(sock, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in sel.select():
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(65536)
                        if not data:
                            return
                        peers[sock].sendall(data)
            except OSError:
                return
            finally:
                for sock in peers:
                    self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Stop listening and break every connection."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            self._drop(sock)

    def restore(self) -> None:
        """Listen on the same port again."""
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self.cut()


@contextmanager
def cut_proxy(target_url: str) -> Iterator[CutProxy]:
    """A proxy in front of ``https://host:port`` for the duration of the block."""
    host, _, port = target_url.removeprefix("https://").partition(":")
    proxy = CutProxy((host, int(port.rstrip("/"))))
    try:
        yield proxy
    finally:
        proxy.close()
