"""Daphne's frames go out at once when nothing is buffered (no writability round trip through the loop),
and in order behind anything that is still buffered."""

import socket

from twisted.internet import tcp

from frontend.realtime import direct_writes


class FakeReactor:
    def __init__(self):
        self.writers = []

    def addWriter(self, writer):
        self.writers.append(writer)

    def removeWriter(self, writer):
        self.writers.remove(writer)


def _connection():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    reactor = FakeReactor()
    connection = tcp.Connection(ours, protocol=None, reactor=reactor)
    connection.connected = True
    return connection, theirs, reactor


def test_a_write_with_nothing_buffered_is_sent_at_once():
    direct_writes.install()
    connection, peer, reactor = _connection()
    connection.write(b"frame one")
    assert peer.recv(100) == b"frame one"
    assert reactor.writers == []  # not registered for writability
    assert connection._tempDataBuffer == []


def test_a_write_behind_buffered_data_waits_its_turn():
    direct_writes.install()
    connection, peer, reactor = _connection()
    connection._tempDataBuffer.append(b"first ")
    connection._tempDataLen = 6
    connection.write(b"second")
    assert reactor.writers == [connection]
    assert connection._tempDataBuffer == [b"first ", b"second"]
    connection.doWrite()
    assert peer.recv(100) == b"first second"


def test_what_the_kernel_does_not_take_is_buffered():
    direct_writes.install()
    connection, peer, reactor = _connection()
    big = b"x" * (8 * 1024 * 1024)  # more than the socket buffer
    connection.write(big)
    assert reactor.writers == [connection]
    received = 0
    while received < len(big):
        connection.doWrite()
        received += len(peer.recv(1 << 20))
    assert received == len(big)
