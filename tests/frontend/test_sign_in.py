"""Signing in and out, in both languages."""

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditLog
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_page_speaks_chinese_by_default(client):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "客服中心" in html and "登录" in html
    assert "English" in html  # the switch to the other language


def test_sign_in_page_in_english_after_switching(client):
    switched = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert switched.status_code == 302 and switched.url == reverse("login")
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert "Contact Center" in html and "Sign in" in html and "简体中文" in html


def test_wrong_password_is_explained_and_audited(client, org):
    client.cookies["django_language"] = "en"
    page = client.post(reverse("login"), {"username": "agent_zh", "password": "wrong"})
    assert page.status_code == 200
    assert "Please enter a correct username and password" in page.content.decode()
    assert AuditLog.objects.filter(action=AuditAction.SIGN_IN_FAILED, actor_name="agent_zh").exists()


def test_sign_in_lands_on_home_in_the_users_language(client, org):
    org.agent_en.language = "en"
    org.agent_en.save()
    response = client.post(reverse("login"), {"username": "agent_en", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert response.cookies["django_language"].value == "en"
    home = client.get(reverse("home"))
    assert "My open tickets" in home.content.decode()


def test_a_language_picked_before_signing_in_wins(client, org):
    client.cookies["django_language"] = "en"
    client.post(reverse("login"), {"username": "agent_zh", "password": PASSWORD})  # profile says zh-hans
    assert "My open tickets" in client.get(reverse("home")).content.decode()


def test_pages_need_a_signed_in_user(client):
    for name in ["home", "ticket-list", "customer-list", "company-list"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")


def test_sign_out(client, org):
    client.force_login(org.agent_zh)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You have signed out." in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert AuditLog.objects.filter(action=AuditAction.SIGN_OUT, actor=org.agent_zh).exists()


def test_top_bar_names_the_user_their_role_and_the_pages_for_their_role(client, org):
    client.force_login(org.agent_zh)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("home")).content.decode()
    assert "agent_zh" in html and "Agent" in html
    for link in ["Tickets", "Customers", "Companies"]:
        assert link in html
    assert "Supervisor board" not in html  # supervisors and admins only
    client.force_login(org.supervisor)
    assert 'href="/supervisor/">Supervisor board</a>' in client.get(reverse("home")).content.decode()
    assert 'action="/logout/"' in html
