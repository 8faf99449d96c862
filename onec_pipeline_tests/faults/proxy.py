"""A local TCP proxy in front of PostgreSQL that can freeze, like a frozen server or a network partition.

``freeze()`` stops forwarding in both directions and stops accepting: open connections stay open (their
sockets are alive, so TCP keepalives are still answered — what a client cannot tell from a slow server) and
new connections hang in the listen backlog. ``freeze(existing_only=True)`` freezes only the connections
open at that moment (one path cut, the server still reachable). ``thaw()`` resumes; connections whose client
gave up meanwhile are then closed on both sides, so the server ends their sessions.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

import sqlalchemy as sa


class FreezableProxy:
    def __init__(self, database_url: str) -> None:
        self.database_url = sa.make_url(database_url)
        self.target = (self.database_url.host or "127.0.0.1", self.database_url.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded = 0  # bytes forwarded, both directions
        self._all_frozen = False
        self._frozen: set[socket.socket] = set()
        self._open: set[socket.socket] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="freezable-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The database URL through the proxy."""
        return self.database_url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def freeze(self, *, existing_only: bool = False) -> None:
        with self._lock:
            if existing_only:
                self._frozen |= self._open
            else:
                self._all_frozen = True

    def thaw(self) -> None:
        with self._lock:
            self._all_frozen = False
            self._frozen.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self.listener.close()
        for s in list(self._open):
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> FreezableProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        self.listener.setblocking(False)
        sel.register(self.listener, selectors.EVENT_READ, None)
        while not self._stop.is_set():
            skipped = False
            for key, _ in sel.select(timeout=0.05):
                with self._lock:
                    frozen = self._all_frozen or key.fileobj in self._frozen
                if frozen:
                    skipped = True
                elif key.data is None:
                    self._accept(sel)
                else:
                    self._pump(sel, key.fileobj, key.data)  # type: ignore[arg-type]
            if skipped:
                self._stop.wait(0.05)  # the selector reports a frozen ready socket at once: do not spin
        sel.close()

    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setblocking(False)
        sel.register(client, selectors.EVENT_READ, server)
        sel.register(server, selectors.EVENT_READ, client)
        with self._lock:
            self._open |= {client, server}

    def _pump(self, sel: selectors.BaseSelector, src: socket.socket, dst: socket.socket) -> None:
        try:
            data = src.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            try:
                dst.setblocking(True)
                dst.sendall(data)
                dst.setblocking(False)
                self.forwarded += len(data)
                return
            except OSError:
                pass
        for s in (src, dst):  # one side closed: close the other
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(s)
            with contextlib.suppress(OSError):
                s.close()
            with self._lock:
                self._open.discard(s)
                self._frozen.discard(s)
