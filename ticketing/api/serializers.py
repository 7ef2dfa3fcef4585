"""Shapes of tickets and messages in the API. Shape only: the rules live in ticketing.services."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.fields import NamedChoiceField, ReferenceField, ScopedPrimaryKeyRelatedField
from accounts.api.serializers import UserRefSerializer
from accounts.models import Team, User
from crm.api.serializers import CustomerSerializer
from crm.models import Company, Person
from ticketing.models import (
    Attachment,
    Channel,
    Direction,
    Message,
    Priority,
    Queue,
    SlaPolicy,
    SlaTimer,
    Status,
    Ticket,
)

MAX_TAGS = 20
MAX_BODY = 1_000_000  # characters; a longer "message" is an upload by mistake


def _tags_input() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=50, allow_blank=True), max_length=MAX_TAGS, required=False
    )


class CustomerRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "name"]
        read_only_fields = fields


class CustomerSummarySerializer(CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        fields = ["id", "name", "emails", "phones", "lifecycle_stage", "service_level", "language"]
        read_only_fields = fields


class CompanyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name"]
        read_only_fields = fields


class QueueRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["id", "name"]
        read_only_fields = fields


class TeamRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]
        read_only_fields = fields


class SlaPolicyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", "name"]
        read_only_fields = fields


SLA_STATES = [
    ("none", "No SLA policy applies"),
    ("running", "Deadlines running"),
    ("breached", "A running deadline has passed"),
    ("stopped", "No running deadline (met, paused or solved)"),
]


def sla_state(ticket: Ticket) -> str:
    """From the deadline columns alone (no query): what a list shows next to each ticket."""
    if ticket.sla_policy_id is None:
        return "none"
    dues = [d for d in (ticket.first_response_due_at, ticket.next_response_due_at, ticket.resolution_due_at) if d]
    if not dues:
        return "stopped"
    return "breached" if min(dues) <= timezone.now() else "running"


class TicketListSerializer(serializers.ModelSerializer):
    """Compact: everything comes from one joined query plus the tags."""

    status = NamedChoiceField(enum_name="TicketStatusEnum", choices=Status.choices, read_only=True)
    customer = CustomerRefSerializer(read_only=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    queue = QueueRefSerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    sla_policy = SlaPolicyRefSerializer(read_only=True, allow_null=True)
    sla_state = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "status",
            "priority",
            "channel",
            "customer",
            "assignee",
            "queue",
            "tags",
            "created_at",
            "updated_at",
            "sla_policy",
            "sla_state",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=SLA_STATES))
    def get_sla_state(self, ticket: Ticket) -> str:
        return sla_state(ticket)


class SlaTimerSerializer(serializers.ModelSerializer):
    """One SLA clock of the ticket: its deadline, warning, pause and outcome (met/missed/running)."""

    class Meta:
        model = SlaTimer
        fields = [
            "target",
            "target_minutes",
            "started_at",
            "due_at",
            "warn_at",
            "paused_at",
            "warned_at",
            "breached_at",
            "met_at",
            "outcome",
        ]
        read_only_fields = fields


class TicketDetailSerializer(TicketListSerializer):
    customer = CustomerSummarySerializer(read_only=True)
    sla_timers = SlaTimerSerializer(many=True, read_only=True)
    company = CompanyRefSerializer(read_only=True, allow_null=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    merged_into = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "company",
            "team",
            "language",
            "merged_into",
            "first_response_at",
            "solved_at",
            "closed_at",
            "sla_timers",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "sha256", "stored", "note", "download_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, attachment: Attachment) -> str | None:
        # Served by the console (frontend), which checks the ticket's scope again.
        return f"/attachments/{attachment.pk}/download/" if attachment.stored else None


class MessageSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True, allow_null=True)
    sender = serializers.SerializerMethodField(help_text="The customer's address the message came from.")
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "direction",
            "channel",
            "author",
            "sender",
            "body_text",
            "body_html",
            "delivery_status",
            "delivery_error",
            "flagged",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields

    def get_sender(self, message: Message) -> str | None:
        return message.sender.value if message.sender is not None else None


class TicketCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(Person, help_text="A customer visible to you (id).")
    subject = serializers.CharField(max_length=300)
    body_text = serializers.CharField(max_length=MAX_BODY, required=False, allow_blank=True)
    body_html = serializers.CharField(max_length=MAX_BODY, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    queue = ReferenceField(queryset=Queue.objects.all(), required=False, allow_null=True)
    tags = _tags_input()


class TicketUpdateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=300, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    tags = _tags_input()


class ReplySerializer(serializers.Serializer):
    body_text = serializers.CharField(max_length=MAX_BODY, allow_blank=True)
    body_html = serializers.CharField(max_length=MAX_BODY, required=False, allow_blank=True)


class NoteSerializer(serializers.Serializer):
    body_text = serializers.CharField(max_length=MAX_BODY, allow_blank=True)


class MessageCreateSerializer(ReplySerializer):
    direction = serializers.ChoiceField(
        choices=[
            (Direction.OUTBOUND.value, Direction.OUTBOUND.label),
            (Direction.INTERNAL.value, Direction.INTERNAL.label),
        ],
        help_text="“out”: a reply to the customer; “note”: an internal note.",
    )


class AssignSerializer(serializers.Serializer):
    assignee = ReferenceField(
        queryset=User.objects.all(), required=False, allow_null=True, help_text="User id; null unassigns."
    )
    queue = ReferenceField(queryset=Queue.objects.all(), required=False, help_text="Move to this queue (id).")

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError({"assignee": ["Give an assignee (or null), a queue, or both."]})
        return attrs


class StatusSerializer(serializers.Serializer):
    status = NamedChoiceField(enum_name="TicketStatusEnum", choices=Status.choices)


class MergeSerializer(serializers.Serializer):
    into = ScopedPrimaryKeyRelatedField(Ticket, help_text="The ticket (id) that receives this one's messages.")
