"""When a voice ticket is assigned (an agent accepted the offer, or a supervisor assigned it),
bridge its waiting call to that agent, in a job after the commit: the REST call to Twilio
never holds up the accept."""

from __future__ import annotations

import logging

from django.db import transaction

from ticketing.events import publishing_is_paused, ticket_event_recorded

logger = logging.getLogger("channels_app.twilio")


def on_ticket_event(sender, event, ticket, **kwargs):
    if event.kind != "ticket.assigned" or ticket.channel != "voice":
        return
    if not (event.data.get("assignee") or {}).get("to"):
        return
    if publishing_is_paused():  # history written in bulk (the demo seed): no call is waiting
        return
    ticket_id = ticket.pk

    def enqueue():
        from channels_app.twilio.jobs import call_bridge_job

        try:
            call_bridge_job.enqueue(ticket_id)
        except Exception:  # never break the accept; the caller then gets voicemail after the wait limit
            logger.exception("Could not queue the bridge of ticket %s", ticket_id)

    transaction.on_commit(enqueue)


ticket_event_recorded.connect(on_ticket_event, dispatch_uid="channels_app.twilio.bridge")
