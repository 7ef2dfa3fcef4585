"""/api/v1/mailboxes/: admins manage mailboxes; passwords are write-only; others see nothing."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from channels_app.models import Mailbox
from tests.api.conftest import HttpsAPIClient

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = HttpsAPIClient()
    client.force_authenticate(user)
    return client


BODY = {
    "name": "售后",
    "from_address": "support@shop.example",
    "from_name": "售后服务",
    "imap_host": "127.0.0.1",
    "imap_port": 1,
    "imap_security": "none",
    "imap_user": "support",
    "imap_password": "imap-secret",
    "smtp_host": "127.0.0.1",
    "smtp_port": 1,
    "smtp_security": "none",
    "smtp_password": "smtp-secret",
}


def test_admin_creates_reads_and_updates_without_seeing_passwords(org):
    client = api(org.admin)
    created = client.post("/api/v1/mailboxes/", BODY, format="json")
    assert created.status_code == 201, created.json()
    assert "imap_password" not in created.json() and "smtp_password" not in created.json()
    pk = created.json()["id"]
    listed = client.get("/api/v1/mailboxes/").json()
    assert [m["name"] for m in listed["results"]] == ["售后"]
    assert "imap-secret" not in str(listed)
    patched = client.patch(f"/api/v1/mailboxes/{pk}/", {"folder": "Support", "imap_password": ""}, format="json")
    assert patched.status_code == 200
    mailbox = Mailbox.objects.get(pk=pk)
    assert mailbox.folder == "Support" and mailbox.imap_password == "imap-secret"


def test_bad_input_is_a_400_with_field_errors(org):
    response = api(org.admin).post("/api/v1/mailboxes/", {**BODY, "imap_security": "ssl3", "from_address": "x"})
    assert response.status_code == 400
    assert {"imap_security", "from_address"} <= set(response.json()["errors"])


def test_agents_and_outsiders_see_nothing(org):
    Mailbox.objects.create(**BODY)
    for user in (org.agent_zh, org.outsider, org.sales_rep):
        assert api(user).get("/api/v1/mailboxes/").status_code == 403
        assert api(user).post("/api/v1/mailboxes/", BODY, format="json").status_code == 403


def test_view_permission_reads_but_does_not_write(org):
    org.agent_en.user_permissions.add(Permission.objects.get(codename="view_mailbox"))
    mailbox = Mailbox.objects.create(**BODY)
    client = api(org.agent_en)
    assert client.get(f"/api/v1/mailboxes/{mailbox.pk}/").status_code == 200
    assert client.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"name": "x"}, format="json").status_code == 403


def test_test_connection_endpoint_reports_each_part(org):
    mailbox = Mailbox.objects.create(**BODY)
    response = api(org.admin).post(f"/api/v1/mailboxes/{mailbox.pk}/test-connection/")
    assert response.status_code == 200
    parts = {check["part"]: check for check in response.json()}
    assert parts["imap"]["ok"] is False and "refused" in parts["imap"]["message"]
    assert parts["smtp"]["ok"] is False
