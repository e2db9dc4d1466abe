"""A small SMTP server on 127.0.0.1 for the tests: it keeps what it is sent, as sent.

Only what a relay on the LGWAN side must do for cdr (EHLO, MAIL, RCPT, DATA with the
dot-stuffing undone, RSET, NOOP, QUIT); it counts connections, so a test can also prove
that nothing tried to connect.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    @property
    def body(self) -> str:
        """The text as a mail reader shows it (the wire's CRLF line ends as newlines)."""
        return self.message.get_content().replace("\r\n", "\n")


@dataclass
class _Seen:
    connections: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Session(socketserver.StreamRequestHandler):
    timeout = 10

    def _say(self, *lines: str) -> None:
        self.wfile.write("".join(f"{line}\r\n" for line in lines).encode())

    def handle(self) -> None:
        seen: _Seen = self.server.seen  # type: ignore[attr-defined]
        with seen.lock:
            seen.connections += 1
        self._say("220 test.invalid ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").rstrip("\r\n")
            verb = command[:4].upper()
            if verb == "EHLO":
                self._say("250-test.invalid", "250 8BITMIME")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip().strip("<>"), []
                self._say("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                data = self._data()
                with seen.lock:
                    seen.received.append(Received(sender, recipients, data))
                self._say("250 OK: queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            elif verb in ("RSET", "NOOP", "HELO"):
                self._say("250 OK")
            else:
                self._say("502 not here")

    def _data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b".") else line)
        return b"".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False  # closed sessions are joined by server_close: no thread outlives a test


class SmtpServer:
    """``with SmtpServer() as smtp:`` — listening on ``smtp.port`` until the block ends."""

    def __init__(self, port: int = 0) -> None:
        self.seen = _Seen()
        self._server = _Server(("127.0.0.1", port), _Session)
        self._server.seen = self.seen  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="test-smtp")

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def received(self) -> list[Received]:
        with self.seen.lock:
            return list(self.seen.received)

    @property
    def connections(self) -> int:
        with self.seen.lock:
            return self.seen.connections
