"""Public help center under /help/."""

from django.urls import path

from knowledge_base import views

urlpatterns = [
    path("", views.help_home_redirect, name="help-center"),
    path("attachments/<int:pk>/", views.attachment_download, name="kb-attachment"),
    path("agent-tools/", views.agent_tools, name="kb-agent-tools"),
    path("<str:language>/", views.help_home, name="kb-home"),
    path("<str:language>/search/", views.help_search, name="kb-search"),
    path("<str:language>/c/<str:slug>/", views.help_category, name="kb-category"),
    path("<str:language>/<str:slug>/", views.help_article, name="kb-article"),
    path("<str:language>/<str:slug>/feedback/", views.help_feedback, name="kb-feedback"),
]
