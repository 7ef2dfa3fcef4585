"""Chat widget script and its HTTP endpoints: /widget/<key>.js, uploads, the offline form, files."""

from django.urls import path

from channels_app.chat import views

urlpatterns: list = [
    path("widget/<slug:key>.js", views.widget_script, name="chat-widget-script"),
    path("widget/<slug:key>/upload/", views.widget_upload, name="chat-widget-upload"),
    path("widget/<slug:key>/offline/", views.widget_offline_message, name="chat-widget-offline"),
    path("widget/file/<str:token>/", views.widget_file, name="chat-widget-file"),
]
