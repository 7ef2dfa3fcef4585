"""Daphne's socket writes sent at once when nothing is waiting to go out.

Twisted buffers every write and registers the socket for writability, sends on the next loop pass and
unregisters it: on the asyncio reactor two epoll_ctl calls and a loop pass per websocket frame. At
chat load that was 40% of daphne's event loop (ten agent frames per visitor line). asyncio's own
transports try the send first; this does the same for Twisted's TCP connections: when the buffer is
empty, the data is sent now, and only what the kernel does not take is buffered the usual way."""

from __future__ import annotations

from twisted.internet import tcp

_buffered_write = tcp.Connection.write


def _write(self, data: bytes) -> None:
    if (
        data
        and isinstance(data, bytes)
        and self.connected
        and not self.disconnecting
        and not self._writeDisconnected
        and not self._tempDataBuffer
        and self.offset == len(self.dataBuffer)
    ):
        sent = self.writeSomeData(data)
        if isinstance(sent, int) and sent >= 0:  # else (connection lost) the buffered path reports it
            if sent == len(data):
                return
            data = data[sent:]
    _buffered_write(self, data)


def install() -> None:
    if getattr(tcp.Connection.write, "direct", False):
        return
    _write.direct = True
    tcp.Connection.write = _write
