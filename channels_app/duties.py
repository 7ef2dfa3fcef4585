"""The email channel's periodic duties: poll mailboxes, deliver the outbox."""

from contact_center.worker import duty

POLL_EVERY = 30
WATCH_EVERY = 10
SEND_EVERY = 5


@duty("poll_mailboxes", every=POLL_EVERY)
def poll_mailboxes() -> dict:
    from channels_app.email.inbound import mailboxes_poll_all

    return mailboxes_poll_all()


@duty("watch_mailboxes", every=WATCH_EVERY)
def watch_mailboxes() -> dict:
    """Keep an IMAP IDLE watcher per active mailbox (in a long-running worker only)."""
    from channels_app.email.idle import watchers_sync
    from contact_center.worker import running_forever

    return watchers_sync() if running_forever() else {}


@duty("send_email", every=SEND_EVERY)
def send_email() -> int:
    from channels_app.email.outbound import outbox_send_due

    return outbox_send_due()


CHAT_QUEUE_EVERY = 30
CHAT_UPLOADS_EVERY = 3600


@duty("chat_queue_positions", every=CHAT_QUEUE_EVERY)
def chat_queue_positions() -> int:
    """Refresh waiting chat visitors' queue position and estimated wait (events push the changes too)."""
    from channels_app.chat.receivers import queue_positions_push
    from ticketing.models import Channel, Ticket

    queues = (
        Ticket.objects.filter(channel=Channel.CHAT, assignee__isnull=True, status__in=["new", "open"])
        .exclude(queue__isnull=True)
        .values_list("queue_id", flat=True)
        .distinct()
    )
    return sum(queue_positions_push(queue_id) for queue_id in list(queues))


@duty("chat_uploads_cleanup", every=CHAT_UPLOADS_EVERY)
def chat_uploads_cleanup() -> int:
    """Files uploaded in the widget but never sent in a message are removed after a day."""
    from datetime import timedelta

    from django.utils import timezone

    from channels_app.chat.models import ChatUpload

    removed = 0
    for upload in ChatUpload.objects.filter(used=False, created_at__lt=timezone.now() - timedelta(days=1))[:500]:
        upload.file.delete(save=False)
        upload.delete()
        removed += 1
    return removed


from channels_app.twilio.duties import send_sms  # noqa: E402, F401  (the SMS outbox)
