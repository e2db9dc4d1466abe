"""The console's gunicorn worker: gunicorn's threaded worker, with a time limit on every
read and write of a client's connection.

A synchronous worker serves one connection at a time and waits for a request's headers
without a limit: a few connections that send half a request and wait (slow loris) stop
the console. Here each worker's threads serve connections side by side (an unlock that
waits minutes for LibreOffice holds one thread, not the worker), and a connection that
sends nothing for ``READ_TIMEOUT`` seconds is closed. gunicorn has no limit of its own on
the time a request's headers take; a client that trickles a byte now and then still holds
a thread, which is why anything beyond this server reaches the console through a reverse
proxy that buffers whole requests (README, "Web console")."""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker

READ_TIMEOUT = 10.0  # seconds a client may be silent within a request or while taking the answer
THREADS = 8  # per worker process: connections served at once


class ConsoleWorker(ThreadWorker):  # type: ignore[misc]
    def handle(self, conn: Any) -> Any:
        """gunicorn's handling, with the socket's timeout set once it is blocking (gunicorn
        makes it blocking, which clears any timeout, just before it reads the request)."""
        ready = conn.init

        def init() -> None:
            ready()
            conn.sock.settimeout(READ_TIMEOUT)

        conn.init = init
        return super().handle(conn)
