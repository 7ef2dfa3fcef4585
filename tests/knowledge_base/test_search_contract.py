"""The same behaviour from every search backend: indexing after commit, deletes, record scope,
public/internal articles, Chinese and English, partial phone numbers, reindex."""

import pytest

from knowledge_base.models import Category, Status, Visibility
from knowledge_base.search import article_suggestions, search_global, search_reindex, ticket_article_suggestions
from knowledge_base.services import article_change_status, article_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(org, search_backend, committed):
    with committed():
        category = Category.objects.create(slug="billing", name_zh="付款与退款", name_en="Billing")
        refund_zh = article_create(
            by=org.admin,
            category=category,
            language="zh",
            title="如何申请退款",
            body="收货后 7 天内可以在“我的订单”申请退款，款项原路退回。",
            status=Status.PUBLISHED,
        )
        refund_en = article_create(
            by=org.admin,
            category=category,
            language="en",
            title="How to request a refund",
            body="Request a refund within 7 days of delivery under My orders.",
            status=Status.PUBLISHED,
            translation_of=refund_zh,
        )
        password = article_create(
            by=org.admin,
            category=category,
            language="en",
            title="How do I reset my password",
            body="Click Forgot password on the sign-in page and enter the code we send.",
            status=Status.PUBLISHED,
        )
        internal = article_create(
            by=org.admin,
            category=category,
            language="en",
            title="Approving a late refund",
            body="Late refunds need a supervisor's approval.",
            status=Status.PUBLISHED,
            visibility=Visibility.INTERNAL,
        )
        draft = article_create(
            by=org.admin,
            category=category,
            language="en",
            title="Refund draft",
            body="Not ready: refund rules for 2027.",
        )
    return {"refund_zh": refund_zh, "refund_en": refund_en, "password": password, "internal": internal, "draft": draft}


def ids(results):
    return [r["id"] for r in results]


def test_the_visitor_typing_a_question_sees_the_english_article(kb):
    found = article_suggestions("how do I reset my password", "en")
    assert found[0]["title"] == "How do I reset my password"
    assert found[0]["url"] == kb["password"].get_absolute_url()
    assert set(found[0]) == {"title", "url", "snippet"}


def test_public_suggestions_never_show_internal_or_draft_articles(kb):
    titles = [r["title"] for r in article_suggestions("late refund draft", "en", limit=10)]
    assert "Approving a late refund" not in titles and "Refund draft" not in titles
    assert "How to request a refund" in titles


def test_staff_find_internal_articles_and_a_signed_in_outsider_does_not(org, kb):
    assert kb["internal"].pk in ids(search_global(org.agent_en, "late refund approval"))
    assert kb["internal"].pk not in ids(search_global(org.outsider, "late refund approval"))


def test_traditional_characters_find_the_simplified_article(kb):
    assert article_suggestions("如何申請退款", "zh")[0]["title"] == "如何申请退款"


def test_english_typos_and_stems_still_match(kb):
    assert article_suggestions("resetting my pasword", "en")[0]["title"] == "How do I reset my password"


def test_unpublishing_and_deleting_take_articles_out_after_commit(org, kb, committed):
    with committed():
        article_change_status(article=kb["password"], by=org.admin, status=Status.DRAFT)
    assert "How do I reset my password" not in [r["title"] for r in article_suggestions("reset password", "en")]
    with committed():
        kb["refund_en"].delete()
    assert kb["refund_en"].pk not in ids(search_global(org.admin, "refund delivery"))


def test_a_chinese_refund_ticket_suggests_the_chinese_refund_article_first(org, kb, committed):
    with committed():
        ticket = factories.ticket(
            subject="申请退款",
            body_text="你好，我上周买的东西不想要了，怎么退款？",
            queue_=factories.queue(team_=org.billing_team),
            language="zh",
        )
    suggestions = ticket_article_suggestions(ticket)
    assert suggestions[0]["id"] == kb["refund_zh"].pk
    assert any(s <= e for s, e in suggestions[0]["title_highlights"])


def test_tickets_are_searched_by_subject_and_messages_within_record_scope(org, search_backend, committed):
    with committed():
        billing = factories.ticket(
            subject="发票抬头写错了",
            body_text="需要重新开具增值税专用发票",
            queue_=factories.queue(team_=org.billing_team),
        )
        tech = factories.ticket(
            subject="Printer offline",
            body_text="The invoice printer shows offline since Monday",
            queue_=factories.queue(team_=org.tech_team),
        )
    assert ids(search_global(org.agent_zh, "专用发票", kind="ticket")) == [billing.pk]
    assert ids(search_global(org.agent_en, "专用发票", kind="ticket")) == []
    assert ids(search_global(org.agent_en, "invoice printer", kind="ticket")) == [tech.pk]
    assert set(ids(search_global(org.supervisor, "发票 invoice", kind="ticket"))) == {billing.pk, tech.pk}
    result = search_global(org.agent_zh, "专用发票", kind="ticket")[0]
    start, end = result["highlights"][0]
    assert result["snippet"][start:end] == "专用发票"
    assert result["url"] == f"/tickets/{billing.number}/"


def test_new_messages_are_searchable_after_commit(org, search_backend, committed):
    from ticketing.services import ticket_add_note

    with committed():
        ticket = factories.ticket(subject="Account question", queue_=factories.queue(team_=org.tech_team))
    assert search_global(org.agent_en, "zebra", kind="ticket") == []
    with committed():
        ticket_add_note(ticket=ticket, by=org.agent_en, body_text="Customer mentioned a zebra pattern")
    assert ids(search_global(org.agent_en, "zebra", kind="ticket")) == [ticket.pk]


def test_customers_by_name_company_email_and_partial_phone_within_scope(org, search_backend, committed):
    from crm.models import Company
    from crm.services import person_create

    with committed():
        company = Company.objects.create(name="杭州云帆科技有限公司")
        mine = person_create(
            by=None,
            name="王建国",
            phones=["+8613812345678"],
            emails=["wang@yunfan.cn"],
            owner=org.sales_rep,
            company=company,
        )
        theirs = person_create(by=None, name="王小明", phones=["+8613900001111"], owner=org.other_rep)
    assert ids(search_global(org.sales_rep, "1381234", kind="customer")) == [mine.pk]
    assert ids(search_global(org.sales_rep, "138 1234 5678", kind="customer")) == [mine.pk]
    assert ids(search_global(org.sales_rep, "云帆", kind="customer")) == [mine.pk]
    assert ids(search_global(org.sales_rep, "wang@yunfan.cn", kind="customer")) == [mine.pk]
    assert ids(search_global(org.sales_rep, "0000 1111", kind="customer")) == []
    assert ids(search_global(org.sales_manager, "0000 1111", kind="customer")) == [theirs.pk]
    hit = search_global(org.sales_rep, "1381234", kind="customer")[0]
    ((start, end),) = hit["highlights"]
    assert hit["snippet"][start:end].replace(" ", "") == "1381234"


def test_reindex_rebuilds_everything(org, kb, search_backend):
    count = search_reindex()
    assert count >= 5
    assert article_suggestions("how do I reset my password", "en")[0]["title"] == "How do I reset my password"
