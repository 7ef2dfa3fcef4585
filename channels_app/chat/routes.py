"""Websocket route of the chat widget: /ws/chat/<widget_key>/."""

from django.urls import re_path

from channels_app.chat.consumers import ChatConsumer

websocket_urlpatterns: list = [re_path(r"^ws/chat/(?P<widget_key>[-a-zA-Z0-9_]+)/$", ChatConsumer.as_asgi())]
