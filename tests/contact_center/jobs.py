"""Jobs used by the worker tests (imported by the worker process too)."""

import time
from pathlib import Path

from django_tasks import task

from ticketing.inbound import InboundMessage, inbound_ingest


@task()
def ingest_after_hold(external_id: str, hold_file: str) -> int:
    """Wait while `hold_file` exists (so a test can kill the worker mid-job), then ingest."""
    while Path(hold_file).exists():
        time.sleep(0.05)
    result = inbound_ingest(
        InboundMessage(channel="email", sender_address="kill@example.com", external_id=external_id, text="hi")
    )
    return result.message.id


@task()
def record(value: str) -> str:
    from crm.services import person_create

    person_create(by=None, name=value)
    return value
