"""Phone API under /api/v1/phone/: lines with their IVR menu (credentials write-only), calls
(scoped by their tickets; POST is click-to-call), the agent's own phone, Voice SDK tokens."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scope import visible
from channels_app.twilio import services
from channels_app.twilio.models import LINE_SETTINGS, Call, IvrOption, PhoneLine

SECRET = {"write_only": True, "required": False, "allow_blank": True, "style": {"input_type": "password"}}


class LinePermissions(permissions.DjangoModelPermissions):
    """Lines hold credentials: even reading them needs the view permission."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class IvrOptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = IvrOption
        fields = ["digit", "label_zh", "label_en", "queue", "skill", "max_wait_seconds"]


class PhoneLineSerializer(serializers.ModelSerializer):
    auth_token = serializers.CharField(**SECRET)
    api_key_secret = serializers.CharField(**SECRET)
    options = IvrOptionSerializer(many=True, required=False)

    class Meta:
        model = PhoneLine
        fields = ["id", *LINE_SETTINGS, "options"]

    def validate_options(self, options):
        digits = [option["digit"] for option in options]
        if len(digits) != len(set(digits)):
            raise serializers.ValidationError("Each digit may be used once.")
        return options

    def validate(self, attrs):
        if self.instance is None and not attrs.get("auth_token"):
            raise serializers.ValidationError({"auth_token": ["An auth token is required."]})
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        options = validated_data.pop("options", [])
        line = super().create(validated_data)
        IvrOption.objects.bulk_create(IvrOption(line=line, **option) for option in options)
        return line

    @transaction.atomic
    def update(self, instance, validated_data):
        for secret in ("auth_token", "api_key_secret"):
            if not validated_data.get(secret):
                validated_data.pop(secret, None)  # empty keeps the stored secret
        options = validated_data.pop("options", None)
        line = super().update(instance, validated_data)
        if options is not None:  # the menu is replaced as a whole
            line.options.all().delete()
            IvrOption.objects.bulk_create(IvrOption(line=line, **option) for option in options)
        return line


class PhoneLineViewSet(viewsets.ModelViewSet):
    serializer_class = PhoneLineSerializer
    permission_classes = [LinePermissions]
    queryset = PhoneLine.objects.prefetch_related("options").order_by("name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]


class CallSerializer(serializers.ModelSerializer):
    class Meta:
        model = Call
        fields = [
            "id",
            "sid",
            "line",
            "ticket",
            "direction",
            "from_number",
            "to_number",
            "language",
            "status",
            "agent",
            "enqueued_at",
            "bridged_at",
            "bridge_target",
            "ended_at",
            "duration",
            "voicemail",
            "recording_url",
            "recording_duration",
            "created_at",
        ]
        read_only_fields = fields


class ClickToCallSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(required=False)
    person = serializers.IntegerField(required=False)

    def validate(self, attrs):
        if bool(attrs.get("ticket")) == bool(attrs.get("person")):
            raise serializers.ValidationError({"non_field_errors": ["Give either a ticket or a person."]})
        return attrs


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Calls of the tickets the user may see. POST: click-to-call a ticket's customer or a CRM person."""

    serializer_class = CallSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["ticket", "direction", "status", "sid"]

    def get_queryset(self):
        tickets = visible(self.request.user, "ticketing.Ticket")
        return Call.objects.filter(ticket__in=tickets).order_by("-created_at")

    @extend_schema(request=ClickToCallSerializer, responses={201: CallSerializer})
    def create(self, request, *args, **kwargs):
        asked = ClickToCallSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        ticket = person = None
        if asked.validated_data.get("ticket"):
            ticket = get_object_or_404(visible(request.user, "ticketing.Ticket"), pk=asked.validated_data["ticket"])
        else:
            person = get_object_or_404(visible(request.user, "crm.Person"), pk=asked.validated_data["person"])
        call = services.call_dial_out(by=request.user, ticket=ticket, person=person)
        return Response(CallSerializer(call).data, status=status.HTTP_201_CREATED)


class AgentPhoneSerializer(serializers.Serializer):
    number = serializers.CharField(allow_blank=True, max_length=20)
    use_browser = serializers.BooleanField(required=False, default=False)
    client_identity = serializers.CharField(read_only=True)


class MyPhoneView(APIView):
    """The signed-in agent's phone: the number accepted calls ring, or the browser."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=AgentPhoneSerializer)
    def get(self, request):
        return Response(AgentPhoneSerializer(services.agent_phone_for(request.user)).data)

    @extend_schema(request=AgentPhoneSerializer, responses=AgentPhoneSerializer)
    def put(self, request):
        asked = AgentPhoneSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        phone = services.agent_phone_set(user=request.user, **asked.validated_data)
        return Response(AgentPhoneSerializer(phone).data)


class VoiceTokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    identity = serializers.CharField()


class VoiceTokenRequestSerializer(serializers.Serializer):
    line = serializers.IntegerField(required=False)


class VoiceTokenView(APIView):
    """A Twilio Voice SDK access token for the agent's browser identity."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=VoiceTokenRequestSerializer, responses=VoiceTokenSerializer)
    def post(self, request):
        asked = VoiceTokenRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        lines = PhoneLine.objects.filter(active=True).order_by("id")
        line = get_object_or_404(lines, pk=asked.validated_data["line"]) if "line" in asked.validated_data else None
        line = line or lines.first()
        if line is None:
            return Response({"detail": "No active phone line.", "errors": {}}, status=status.HTTP_400_BAD_REQUEST)
        token, identity = services.voice_access_token(user=request.user, line=line)
        return Response({"token": token, "identity": identity})
