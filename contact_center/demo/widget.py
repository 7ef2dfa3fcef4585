"""The demo chat widget (key `demo`): embeddable from local pages, greeting in zh and en,
pre-chat form, chats into the demo support queue. Idempotent."""

from channels_app.chat.models import PRECHAT_FIELDS, ChatWidget
from ticketing.models import Queue

DEMO_KEY = "demo"
DEMO_QUEUE = "账务 Billing"
# `make run` serves on 127.0.0.1:8000 (PORT changes it); test pages may be served on any local port.
DEMO_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "https://127.0.0.1:*", "https://localhost:*"]


def demo_widget_ensure() -> ChatWidget:
    queue = Queue.objects.filter(name=DEMO_QUEUE).first() or Queue.objects.filter(is_default=True).first()
    widget, created = ChatWidget.objects.get_or_create(
        key=DEMO_KEY,
        defaults={
            "name": "Demo 演示网站",
            "allowed_origins": DEMO_ORIGINS,
            "colour": "#0f766e",
            "title_zh": "在线客服",
            "title_en": "Live support",
            "greeting_zh": "您好！欢迎咨询，请问有什么可以帮您？",
            "greeting_en": "Hello! Welcome — how can we help you today?",
            "prechat_fields": list(PRECHAT_FIELDS),
            "queue": queue,
        },
    )
    if not created and widget.queue_id is None and queue is not None:
        widget.queue = queue
        widget.save(update_fields=["queue"])
    return widget
