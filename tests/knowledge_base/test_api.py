"""The search and knowledge-base API as integrators and the console call it."""

import pytest

from knowledge_base.models import Article, Category, Status
from knowledge_base.services import article_create
from tests import factories
from tests.api.conftest import api  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def category(db):
    return Category.objects.create(slug="billing", name_zh="付款", name_en="Billing")


@pytest.fixture
def refund(org, category, committed):
    with committed():
        article = article_create(
            by=org.admin,
            category=category,
            language="zh",
            title="如何申请退款",
            body="收货后 7 天内可以申请退款。",
            status=Status.PUBLISHED,
        )
    return article


def test_search_answers_with_highlight_offsets(org, api, refund):  # noqa: F811
    response = api(org.agent_zh).get("/api/v1/search/", {"q": "退款", "type": "articles"})
    assert response.status_code == 200
    hit = response.json()["results"][0]
    assert hit["id"] == refund.pk and hit["url"] == refund.get_absolute_url()
    start, end = hit["title_highlights"][0]
    assert hit["title"][start:end] == "退款"


def test_search_rejects_bad_input_with_field_errors(org, api):  # noqa: F811
    response = api(org.agent_zh).get("/api/v1/search/", {"q": "", "type": "planets"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"q", "type"}
    assert api().get("/api/v1/search/", {"q": "x"}).status_code in {401, 403}


def test_suggestions_for_a_ticket_and_404_outside_scope(org, api, refund, committed):  # noqa: F811
    with committed():
        ticket = factories.ticket(
            subject="退款申请", body_text="怎么退款？", queue_=factories.queue(team_=org.billing_team)
        )
    response = api(org.agent_zh).get("/api/v1/kb/suggestions/", {"ticket": ticket.pk})
    assert response.status_code == 200
    assert response.json()["results"][0]["id"] == refund.pk
    assert api(org.agent_en).get("/api/v1/kb/suggestions/", {"ticket": ticket.pk}).status_code == 404
    assert api(org.agent_zh).get("/api/v1/kb/suggestions/", {"ticket": "abc"}).status_code == 400


def test_article_workflow_versions_diff_and_restore(org, api, category):  # noqa: F811
    agent = api(org.agent_en)
    created = agent.post(
        "/api/v1/kb/articles/",
        {
            "category": category.pk,
            "language": "en",
            "title": "Reset a password",
            "body": "Click Forgot password.",
            "tags": ["account"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    article = created.json()
    assert article["status"] == "draft" and article["tag_names"] == ["account"]
    url = f"/api/v1/kb/articles/{article['id']}/"
    assert agent.patch(url, {"body": "Click Forgot password, then enter the code."}, format="json").status_code == 200
    assert agent.post(url + "submit/").json()["status"] == "review"
    assert agent.post(url + "publish/").status_code == 403  # agents write; supervisors publish
    assert api(org.supervisor).post(url + "publish/").json()["status"] == "published"
    versions = agent.get(url + "versions/").json()
    assert [v["number"] for v in versions] == [2, 1]
    diff = agent.get(url + "diff/", {"from": 1, "to": 2}).json()["diff"]
    assert "-Click Forgot password." in diff and "+Click Forgot password, then enter the code." in diff
    restored = agent.post(url + "restore/", {"version": 1}, format="json").json()
    assert restored["body"] == "Click Forgot password."
    assert agent.post(url + "restore/", {"version": 99}, format="json").status_code == 400
    translation = agent.post(
        "/api/v1/kb/articles/",
        {
            "category": category.pk,
            "language": "zh",
            "title": "重置密码",
            "body": "点击忘记密码。",
            "translation_of": article["id"],
        },
        format="json",
    ).json()
    assert agent.get(url).json()["translations"] == {"zh": translation["id"]}


def test_outsiders_cannot_touch_articles(org, api, refund):  # noqa: F811
    assert api(org.outsider).get("/api/v1/kb/articles/").status_code == 403
    assert api(org.outsider).get("/api/v1/search/", {"q": "退款"}).json()["results"][0]["id"] == refund.pk


def test_help_center_pages_and_feedback(client, org, refund):
    home = client.get("/help/zh/", secure=True)
    assert home.status_code == 200 and "如何申请退款" in home.content.decode()
    page = client.get(refund.get_absolute_url(), secure=True)
    assert page.status_code == 200 and "收货后 7 天内" in page.content.decode()
    client.post(refund.get_absolute_url() + "feedback/", {"helpful": "yes"}, secure=True)
    client.post(refund.get_absolute_url() + "feedback/", {"helpful": "yes"}, secure=True)  # one vote per visitor
    refund.refresh_from_db()
    assert (refund.helpful_yes, refund.view_count) == (1, 1)
    results = client.get("/help/zh/search/", {"q": "退款"}, secure=True).content.decode()
    assert "<mark>退款</mark>" in results
    draft = Article.objects.create(category=refund.category, language="zh", title="草稿", slug="draft", body="x")
    assert client.get(draft.get_absolute_url(), secure=True).status_code == 404
    assert client.get("/help/xx/", secure=True).status_code == 404


def test_demo_articles_are_created_once_with_linked_translations(db):
    from contact_center.demo.articles import demo_articles_ensure

    created = demo_articles_ensure()
    assert created >= 40
    assert demo_articles_ensure() == 0
    refund = Article.objects.get(language="zh", title="如何申请退款")
    assert refund.translations().get().title == "How to request a refund"
    assert Article.objects.get(language="en", slug="reset-password").title == "How do I reset my password"
