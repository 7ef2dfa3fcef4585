"""Forms of the web pages. They only check input shape; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ticketing.models import Channel, Priority, Status

UNSOLVED = "unsolved"


class TicketFilterForm(forms.Form):
    VIEW_CHOICES = [
        ("", _("All tickets I can see")),
        ("mine", _("Assigned to me")),
        ("queue", _("Waiting in my teams' queues")),
        ("unassigned", _("Unassigned")),
    ]

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    view = forms.ChoiceField(label=_("Show"), choices=VIEW_CHOICES, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), (UNSOLVED, _("Unsolved (not solved or closed)")), *Status.choices],
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Any priority")), *Priority.choices]
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Any channel")), *Channel.choices])


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class MessageForm(forms.Form):
    """One composer for both: a reply goes to the customer, a note stays inside."""

    REPLY, NOTE = "reply", "note"
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[(REPLY, _("Reply to customer")), (NOTE, _("Internal note"))],
        initial=REPLY,
        widget=forms.RadioSelect,
    )
    body_text = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,  # the service says why an empty message is refused
        max_length=100_000,
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
