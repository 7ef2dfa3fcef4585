from rest_framework import serializers

from accounts.models import AgentSkill, Skill, User
from routing.models import Offer, QueueRouting, RoutingStep
from ticketing.models import Queue


class SkillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "code", "name"]


class AgentSkillSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="agent.user_id", read_only=True)
    skill_code = serializers.CharField(source="skill.code", read_only=True)

    class Meta:
        model = AgentSkill
        fields = ["id", "agent", "user", "skill", "skill_code", "level"]


class RoutingStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingStep
        fields = ["id", "rule", "position", "after_seconds", "target"]

    def validate_target(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A step needs a target.")
        return value


class QueueRoutingSerializer(serializers.ModelSerializer):
    steps = RoutingStepSerializer(many=True, read_only=True)

    class Meta:
        model = QueueRouting
        fields = [
            "id",
            "queue",
            "is_active",
            "priority",
            "channels",
            "languages",
            "priorities",
            "customer_tags",
            "companies",
            "target",
            "skill",
            "strategy",
            "offer_timeout_seconds",
            "ring_count",
            "max_missed_offers",
            "return_chats_on_offline",
            "steps",
        ]
        extra_kwargs = {"companies": {"required": False}}

    def _strings(self, value, allowed=None):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise serializers.ValidationError("Expected a list of strings.")
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise serializers.ValidationError(f"Unknown: {', '.join(unknown)}.")
        return value

    def validate_channels(self, value):
        from ticketing.models import Channel

        return self._strings(value, Channel.values)

    def validate_priorities(self, value):
        from ticketing.models import Priority

        return self._strings(value, Priority.values)

    def validate_languages(self, value):
        return self._strings(value)

    def validate_customer_tags(self, value):
        return self._strings(value)

    def validate_offer_timeout_seconds(self, value):
        if value < 5:
            raise serializers.ValidationError("At least 5 seconds.")
        return value


class OfferSerializer(serializers.ModelSerializer):
    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)
    subject = serializers.CharField(source="ticket.subject", read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "subject",
            "channel",
            "queue",
            "status",
            "created_at",
            "expires_at",
            "decided_at",
        ]
        read_only_fields = fields


class ExplainCandidateSerializer(serializers.Serializer):
    agent = serializers.IntegerField()
    name = serializers.CharField()
    score = serializers.IntegerField()
    eligible = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class ExplainDecisionSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    step = serializers.CharField()
    candidates = ExplainCandidateSerializer(many=True)


class ExplainQueueSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)


class ExplainRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.CharField()
    strategy = serializers.CharField()
    matched_by = serializers.ListField(child=serializers.CharField())


class ExplainOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agent = serializers.IntegerField()
    agent_name = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ExplainSerializer(serializers.Serializer):
    queue = ExplainQueueSerializer(allow_null=True)
    rule = ExplainRuleSerializer(allow_null=True)
    waiting_since = serializers.DateTimeField(allow_null=True)
    decisions = ExplainDecisionSerializer(many=True)
    offers = ExplainOfferSerializer(many=True)


class QueueStatsSerializer(serializers.Serializer):
    queue = serializers.IntegerField()
    name = serializers.CharField()
    waiting = serializers.IntegerField()
    longest_wait_seconds = serializers.IntegerField()
    offers_made = serializers.IntegerField()
    offers_accepted = serializers.IntegerField()
    offers_declined = serializers.IntegerField()
    offers_expired = serializers.IntegerField()
    average_speed_of_answer_seconds = serializers.FloatField(allow_null=True)


class TransferSerializer(serializers.Serializer):
    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.all(), required=False)
    agent = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, agent_profile__isnull=False), required=False
    )

    def validate(self, attrs):
        if ("queue" in attrs) == ("agent" in attrs):
            raise serializers.ValidationError("Give either a queue or an agent.")
        return attrs
