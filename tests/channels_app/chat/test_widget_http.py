"""The widget's HTTP side: the script, uploads, the offline message form and files, called cross-origin."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as DjangoClient

from channels_app.chat import services
from channels_app.chat.models import ChatVisitor, ChatWidget
from channels_app.chat.origins import origin_allowed
from channels_app.chat.selectors import conversation_history
from channels_app.chat.tokens import visitor_token_issue, visitor_token_read
from contact_center.demo.widget import demo_widget_ensure
from tests.channels_app.chat.conftest import SHOP
from ticketing.models import Channel, Ticket

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


class Client(DjangoClient):
    """A client speaking https, as the production proxy forwards requests."""

    def generic(self, *args, **extra):
        extra["secure"] = True
        return super().generic(*args, **extra)


def _visitor(widget: ChatWidget) -> tuple[ChatVisitor, str]:
    visitor = services.chat_visitor_resolve(widget=widget, visitor_id=None)
    return visitor, visitor_token_issue(widget_key=widget.key, visitor_id=visitor.visitor_id)


def test_origins_match_scheme_host_and_port_with_a_port_wildcard():
    allowed = ["https://shop.example.com", "http://127.0.0.1:*"]
    assert origin_allowed("https://shop.example.com", allowed)
    assert origin_allowed("https://shop.example.com:443", allowed)
    assert origin_allowed("http://127.0.0.1:8000", allowed)
    assert not origin_allowed("http://shop.example.com", allowed)
    assert not origin_allowed("https://shop.example.com.evil.net", allowed)
    assert not origin_allowed("http://localhost:8000", allowed)
    assert not origin_allowed("null", allowed)


def test_visitor_token_binds_widget_and_visitor():
    token = visitor_token_issue(widget_key="shop", visitor_id="v1")
    assert visitor_token_read(token, widget_key="shop") == "v1"
    assert visitor_token_read(token, widget_key="other") is None
    other = visitor_token_issue(widget_key="shop", visitor_id="v2")
    swapped = other.split(":")[0] + ":" + token.split(":", 1)[1]  # v2's payload under v1's signature
    assert visitor_token_read(swapped, widget_key="shop") is None
    assert visitor_token_read("garbage", widget_key="shop") is None


def test_script_carries_the_widgets_settings_and_both_languages(shop):
    shop.widget.greeting_zh = "您好</script><b>"
    shop.widget.save()
    response = Client().get("/widget/shop.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert '"key": "shop"' in body and "attachShadow" in body and "__CHAT_CONFIG__" not in body
    assert "您好\\u003c/script\\u003e\\u003cb\\u003e" in body  # settings cannot break out of the script
    assert '"Start chat"' in body
    assert Client().get("/widget/nope.js").status_code == 404


def test_upload_within_limits_then_sent_in_a_message_and_downloadable(shop, settings):
    visitor, token = _visitor(shop.widget)
    client = Client(HTTP_ORIGIN=SHOP)
    refused = Client(HTTP_ORIGIN="https://evil.example.net").post(
        "/widget/shop/upload/", {"token": token, "file": SimpleUploadedFile("a.png", PNG, "image/png")}
    )
    assert refused.status_code == 403
    anonymous = client.post("/widget/shop/upload/", {"token": "forged", "file": SimpleUploadedFile("a.png", PNG)})
    assert anonymous.status_code == 401
    wrong_type = client.post(
        "/widget/shop/upload/", {"token": token, "file": SimpleUploadedFile("x.html", b"<script>", "text/html")}
    )
    assert wrong_type.status_code == 400 and wrong_type.json()["errors"]["file"]
    big = SimpleUploadedFile("big.png", b"0" * (services.MAX_UPLOAD_BYTES + 1), "image/png")
    assert client.post("/widget/shop/upload/", {"token": token, "file": big}).status_code == 400

    response = client.post(
        "/widget/shop/upload/", {"token": token, "file": SimpleUploadedFile("截图.png", PNG, "image/png")}
    )
    assert response.status_code == 201 and response["Access-Control-Allow-Origin"] == SHOP
    upload_id = response.json()["upload"]
    result = services.chat_message_ingest(visitor=visitor, client_id="f1", text="看图", attachments=[upload_id])
    [frame] = conversation_history(result.ticket)
    [attachment] = frame["attachments"]
    assert attachment["name"] == "截图.png" and attachment["content_type"] == "image/png"
    download = Client().get(attachment["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["X-Content-Type-Options"] == "nosniff"
    assert Client().get(attachment["url"].replace("/file/", "/file/x")).status_code == 404

    other, _ = _visitor(shop.widget)  # someone else's upload cannot be attached
    try:
        services.chat_message_ingest(visitor=other, client_id="f2", text="", attachments=[upload_id])
    except services.ValidationError as exc:
        assert "attachments" in exc.message_dict
    else:
        raise AssertionError("another visitor's upload was accepted")


def test_offline_message_form_creates_an_email_ticket_once(shop):
    _, token = _visitor(shop.widget)
    client = Client(HTTP_ORIGIN=SHOP)
    form = {"token": token, "client_id": "o1", "name": "王伟", "email": "wang@example.cn", "text": "晚上有人吗？"}
    missing = client.post("/widget/shop/offline/", {**form, "email": "", "language": "zh-CN"})
    assert missing.status_code == 400 and "email" in missing.json()["errors"]
    first = client.post("/widget/shop/offline/", form)
    again = client.post("/widget/shop/offline/", form)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["ticket"] == again.json()["ticket"] and again.json()["duplicate"] is True
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.EMAIL and ticket.queue == shop.queue
    assert ticket.customer.identities.filter(kind="email", value="wang@example.cn").exists()
    assert json.loads(json.dumps(ticket.messages.get().body_text)) == "晚上有人吗？"


def test_demo_widget_is_created_once(db):
    first = demo_widget_ensure()
    second = demo_widget_ensure()
    assert first.pk == second.pk and ChatWidget.objects.count() == 1
    assert origin_allowed("http://127.0.0.1:8000", first.allowed_origins)
    assert origin_allowed("http://localhost:8080", first.allowed_origins)
    assert first.greeting_zh and first.greeting_en and first.prechat_fields
