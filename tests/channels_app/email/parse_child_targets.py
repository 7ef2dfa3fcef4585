"""Stand-ins for the parser child's loop (channels_app.email.parse_child.serve), importable by a spawned
child: no Django here."""

import os
import time


def crash(connection) -> None:
    connection.recv()
    os._exit(3)  # a parser process that dies mid-batch


def hang(connection) -> None:
    connection.recv()
    time.sleep(600)


def mark(connection) -> None:
    """Answers every message with a marker, to tell what the child did from what the poller did."""
    while True:
        raws = connection.recv()
        connection.send([(None, b"from the child")] * len(raws))


def crash_on_second_batch(connection) -> None:
    from channels_app.email.parse_child import parse_and_compress

    connection.send([parse_and_compress(raw) for raw in connection.recv()])
    connection.recv()
    os._exit(3)
