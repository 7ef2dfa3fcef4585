"""The widget's words, translated server-side (gettext) and embedded in its script for zh and en."""

from django.utils.translation import gettext as _
from django.utils.translation import override


def widget_strings(language: str) -> dict[str, str]:
    with override(language):
        return {
            "title": _("Chat with us"),
            "open": _("Open chat"),
            "close": _("Close chat"),
            "greeting": _("Hello! How can we help you?"),
            "name": _("Your name"),
            "email": _("Email"),
            "phone": _("Phone"),
            "email_or_phone": _("Please give an email address or a phone number."),
            "question": _("Your question"),
            "start": _("Start chat"),
            "placeholder": _("Type a message…"),
            "send": _("Send"),
            "attach": _("Attach a file"),
            "file_too_large": _("This file is too large."),
            "file_type": _("This kind of file cannot be sent here."),
            "sending": _("Sending…"),
            "failed": _("Not sent yet, retrying…"),
            "you": _("You"),
            "agent": _("Agent"),
            "agent_joined": _("%(name)s joined the chat"),
            "typing": _("%(name)s is typing…"),
            "queue": _("You are number %(position)s in the queue."),
            "wait": _("Estimated wait: about %(minutes)s min."),
            "wait_soon": _("An agent will be with you shortly."),
            "ended": _("The conversation has ended. Write again any time."),
            "offline_closed": _("We are outside our opening hours. Leave a message and we will answer by email."),
            "offline_no_agent": _(
                "No one is available to chat right now. Leave a message and we will answer by email."
            ),
            "offline_send": _("Send message"),
            "offline_sent": _("Thank you! We have received your message (ticket #%(number)s) and will reply by email."),
            "message": _("Message"),
            "transcript": _("Email me the transcript"),
            "transcript_sent": _("The transcript is on its way to %(email)s."),
            "transcript_ask": _("Email address for the transcript"),
            "suggestions": _("These articles may help:"),
            "reconnecting": _("Reconnecting…"),
            "error": _("Something went wrong; please try again."),
            "new_message": _("New message"),
        }
