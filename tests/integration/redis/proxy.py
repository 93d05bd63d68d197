"""A TCP proxy in front of the shared Redis that a test can break and mend.

The shared ``redis-server`` must never be stopped or slowed by a test (other tests use it at
the same time), so outages are played here:

- ``down()``: drop every open connection and refuse new ones (closed at once) — a crash or a
  restart of Redis;
- ``hang()``: keep connections open but forward nothing — a blackholed network or a stalled
  server, where only the client's timeout saves the caller;
- ``up()``: forward again (new connections reach Redis).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

_POLL_S = 0.05


class Proxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL_S)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._mode = "up"
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept_loop)

    # -- what a test does -------------------------------------------------------------------------

    def up(self) -> None:
        self._mode = "up"

    def down(self) -> None:
        self._mode = "down"
        self._drop_all()

    def hang(self) -> None:
        self._mode = "hang"

    def close(self) -> None:
        self._closed.set()
        self._drop_all()
        for thread in list(self._threads):
            thread.join(2.0)
        self._listener.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- machinery ----------------------------------------------------------------------------------

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _drop_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._mode == "down":
                client.close()
                continue
            client.settimeout(_POLL_S)
            self._track(client)
            upstream = None
            if self._mode == "up":
                try:
                    upstream = socket.create_connection(self._target, timeout=1.0)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(_POLL_S)
                self._track(upstream)
            self._spawn(self._pump, client, upstream)
            if upstream is not None:
                self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket | None) -> None:
        """Copy ``source`` to ``sink`` while up; swallow everything while hung; stop at EOF or close."""
        try:
            while not self._closed.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                if self._mode == "up" and sink is not None:
                    sink.sendall(data)
        except OSError:
            pass  # dropped by down() or by the other side
        finally:
            for sock in (source, sink):
                if sock is not None:
                    with self._lock:
                        self._sockets.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
