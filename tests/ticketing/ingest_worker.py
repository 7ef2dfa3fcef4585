"""Run by test_inbound_ingest in several OS processes at once: ingest the same
messages in a shuffled order and print how many this process created."""

import os
import random
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contact_center.test_settings")
django.setup()

from ticketing.inbound import InboundMessage, inbound_ingest  # noqa: E402


def main(seed: int, count: int, senders: int) -> None:
    order = list(range(count))
    random.Random(seed).shuffle(order)
    created = 0
    for n in order:
        result = inbound_ingest(
            InboundMessage(
                channel="email",
                sender_address=f"sender{n % senders}@example.com",
                sender_name=f"客户{n % senders}",
                external_id=f"<msg-{n}@example.com>",
                subject=f"问题 {n}",
                text=f"第 {n} 封邮件",
            )
        )
        created += result.created
    print(created)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
