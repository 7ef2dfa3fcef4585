"""Twilio webhooks under /webhooks/twilio/ (voice, sms, status). Configure on the Twilio number:
voice → voice/, call status → voice/status/, messaging → sms/ (all POST)."""

from django.urls import path

from channels_app.twilio import views

app_name = "twilio"

urlpatterns = [
    path("voice/", views.voice, name="voice"),
    path("voice/language/", views.voice_language, name="voice-language"),
    path("voice/menu/", views.voice_menu, name="voice-menu"),
    path("voice/wait/", views.voice_wait, name="voice-wait"),
    path("voice/queue-done/", views.voice_queue_done, name="voice-queue-done"),
    path("voice/dial-done/", views.voice_dial_done, name="voice-dial-done"),
    path("voice/voicemail/", views.voice_voicemail, name="voice-voicemail"),
    path("voice/recording/", views.voice_recording, name="voice-recording"),
    path("voice/transcription/", views.voice_transcription, name="voice-transcription"),
    path("voice/status/", views.voice_status, name="voice-status"),
    path("sms/", views.sms, name="sms"),
    path("sms/status/", views.sms_status, name="sms-status"),
]
