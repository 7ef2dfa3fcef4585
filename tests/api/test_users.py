"""/api/v1/users/: active colleagues to assign tickets to or share customers with."""

from tests.api.conftest import HttpsAPIClient
from tests.factories import PASSWORD


def usernames(response) -> list[str]:
    return [row["username"] for row in response.json()["results"]]


def test_agents_list_active_agents_with_their_teams(org, api):
    org.agent_en.is_active = False
    org.agent_en.save()
    answer = api(org.agent_zh).get("/api/v1/users/", {"agents": "true"})
    assert answer.status_code == 200
    assert usernames(answer) == ["agent_zh"]
    row = answer.json()["results"][0]
    assert row == {
        "id": org.agent_zh.id,
        "username": "agent_zh",
        "name": "agent_zh",
        "teams": [org.billing_team.id],
        "is_agent": True,
    }


def test_filter_by_team_and_search(org, api):
    supervisor = api(org.supervisor)
    assert usernames(supervisor.get("/api/v1/users/", {"team": org.tech_team.id})) == ["agent_en"]
    assert usernames(supervisor.get("/api/v1/users/", {"search": "rep"})) == ["rep", "rep2"]
    assert supervisor.get("/api/v1/users/", {"team": "tech"}).status_code == 400


def test_sales_reps_may_look_up_colleagues_to_share_with_outsiders_may_not(org, api):
    assert "rep2" in usernames(api(org.sales_rep).get("/api/v1/users/"))
    assert api(org.outsider).get("/api/v1/users/").status_code == 403


def test_the_token_endpoint_also_takes_a_plain_form(org):
    answer = HttpsAPIClient().post("/api/v1/auth/token/", {"username": "agent_zh", "password": PASSWORD})
    assert answer.status_code == 200 and answer.json()["token"]
