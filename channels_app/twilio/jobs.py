"""Jobs of the phone channel (run by the worker)."""

from django_tasks import task


@task()
def call_bridge_job(ticket_id: int) -> str:
    from channels_app.twilio.services import call_bridge

    call = call_bridge(ticket_id=ticket_id)
    return call.sid if call is not None else ""
