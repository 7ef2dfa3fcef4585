"""Token authentication as integrators use it, and what a caller without a role gets."""

from rest_framework.authtoken.models import Token

from tests.api.conftest import HttpsAPIClient
from tests.factories import PASSWORD


def test_a_token_from_the_token_endpoint_opens_the_api(org, book):
    client = HttpsAPIClient()
    issued = client.post("/api/v1/auth/token/", {"username": "supervisor", "password": PASSWORD}, format="json")
    assert issued.status_code == 200
    token = issued.json()["token"]
    assert token == Token.objects.get(user=org.supervisor).key

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get("/api/v1/tickets/")
    assert listed.status_code == 200
    assert listed.json()["count"] == 3


def test_a_wrong_password_gets_no_token(org):
    answer = HttpsAPIClient().post(
        "/api/v1/auth/token/", {"username": "supervisor", "password": "guess"}, format="json"
    )
    assert answer.status_code == 400
    assert "token" not in answer.json()


def test_without_a_token_or_with_a_bad_one_the_answer_is_401_json(org, book, api):
    anonymous = api().get("/api/v1/customers/")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"]

    client = HttpsAPIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/tickets/").status_code == 401


def test_a_deactivated_users_token_stops_working(org, book, api):
    client = api(org.agent_zh)
    assert client.get("/api/v1/tickets/").status_code == 200
    org.agent_zh.is_active = False
    org.agent_zh.save()
    assert client.get("/api/v1/tickets/").status_code == 401


def test_a_user_without_a_role_is_refused_everywhere_without_learning_anything(org, book, api):
    outsider = api(org.outsider)
    for url in (
        "/api/v1/customers/",
        "/api/v1/companies/",
        "/api/v1/tickets/",
        "/api/v1/users/",
        f"/api/v1/tickets/{book['billing_ticket'].id}/",
        "/api/v1/tickets/999999/",
    ):
        answer = outsider.get(url)
        assert answer.status_code == 403, url
        assert "Invoice" not in answer.content.decode()
