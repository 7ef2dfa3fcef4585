"""The phone channel's periodic duty: deliver the SMS outbox."""

from contact_center.worker import duty

SEND_EVERY = 5


@duty("send_sms", every=SEND_EVERY)
def send_sms() -> int:
    from channels_app.twilio.sms_outbox import sms_outbox_send_due

    return sms_outbox_send_due()
