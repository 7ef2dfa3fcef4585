"""GET /api/v1/users/: active users, for picking an assignee or a colleague to share with."""

from rest_framework import mixins, viewsets

from accounts.api.filters import UserFilter
from accounts.api.parsers import PARSER_CLASSES
from accounts.api.scoping import FILTER_BACKENDS, AnyOfPermissions
from accounts.api.serializers import UserListSerializer
from accounts.models import User


class UserViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Active users: id, username, display name, teams. `?agents=true` keeps agents only."""

    serializer_class = UserListSerializer
    permission_classes = [AnyOfPermissions]
    parser_classes = PARSER_CLASSES
    # Whoever assigns tickets or shares customers needs to name a colleague.
    any_of_perms = ["ticketing.change_ticket", "crm.add_customershare"]
    filter_backends = FILTER_BACKENDS
    filterset_class = UserFilter
    ordering_fields = ["username", "id"]
    ordering = ["username"]

    def get_queryset(self):
        return (
            User.objects.filter(is_active=True)
            .select_related("agent_profile")
            .prefetch_related("teams")
            .order_by("username")
        )
