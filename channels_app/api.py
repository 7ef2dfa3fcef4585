"""REST API for mailboxes: /api/v1/mailboxes/ (list, create, read, PATCH, delete) and
POST /api/v1/mailboxes/<id>/test-connection/. Passwords are write-only."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from channels_app.email.connection import mailbox_test_connection
from channels_app.models import MAILBOX_SETTINGS, Mailbox


class MailboxPermissions(permissions.DjangoModelPermissions):
    """Mailboxes hold credentials: even reading them needs the view permission."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class MailboxSerializer(serializers.ModelSerializer):
    imap_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    smtp_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )

    class Meta:
        model = Mailbox
        fields = [
            "id",
            *MAILBOX_SETTINGS,
            "uidvalidity",
            "last_uid",
            "last_polled_at",
            "last_error",
        ]
        read_only_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_error"]

    def update(self, instance, validated_data):
        for secret in ("imap_password", "smtp_password"):
            if not validated_data.get(secret):
                validated_data.pop(secret, None)  # empty keeps the stored secret
        return super().update(instance, validated_data)


class ConnectionCheckSerializer(serializers.Serializer):
    part = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class MailboxViewSet(viewsets.ModelViewSet):
    serializer_class = MailboxSerializer
    permission_classes = [MailboxPermissions]
    queryset = Mailbox.objects.select_related("default_queue").order_by("name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    search_fields = ["name", "from_address", "imap_host"]
    ordering_fields = ["name", "id"]
    filterset_fields = ["active"]

    @extend_schema(request=None, responses=ConnectionCheckSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, pk=None):
        """Log in to IMAP and SMTP; each part answers ok and a message saying what is wrong."""
        mailbox = self.get_object()
        checks = mailbox_test_connection(mailbox=mailbox)
        return Response(ConnectionCheckSerializer(checks, many=True).data)
