"""User references as the API shows them (assignees, owners, authors)."""

from rest_framework import serializers

from accounts.models import User


class UserRefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]
        read_only_fields = fields


class UserListSerializer(UserRefSerializer):
    teams = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    is_agent = serializers.SerializerMethodField()

    class Meta(UserRefSerializer.Meta):
        fields = ["id", "username", "name", "teams", "is_agent"]
        read_only_fields = fields

    def get_is_agent(self, user: User) -> bool:
        return hasattr(user, "agent_profile")
