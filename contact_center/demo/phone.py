"""The demo phone line: a Twilio number with an IVR (中文 / English, then 1 sales, 2 support).

Its credentials are FAKE: Twilio never calls this demo. Webhooks are replayed, signed with
the fake token, by scripts/twilio_replay.py, and the server's REST calls go to the local
fake of Twilio when TWILIO_API_BASE_URL points at it (the script starts one).

`demo_phone_ensure()` is idempotent: the line, its menu and the demo agents' phones are
created once and left as an administrator may have changed them afterwards."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Skill, User
from channels_app.twilio.models import AgentPhone, IvrOption, PhoneLine
from ticketing.models import Queue

DEMO_LINE_NAME = "演示热线 Demo hotline (fake credentials)"
DEMO_NUMBER = "+861058880000"
DEMO_ACCOUNT_SID = "AC00000000000000000000000000demo0"  # FAKE, not a Twilio account
DEMO_AUTH_TOKEN = "demo-fake-auth-token-not-a-secret"  # noqa: S105  FAKE: signs the replayed webhooks
# digit → (label zh, label en, queue name, skill code)
DEMO_MENU = {
    "1": ("售前咨询", "sales", "技术支持 Technical", "sales"),
    "2": ("客户服务", "support", "账务 Billing", "billing"),
}
# Demo agents' phones (fake numbers; the bridge goes to the fake Twilio). agent3 answers in the browser.
DEMO_AGENT_PHONES = {"agent1": "+8613900000001", "agent2": "+8613900000002", "agent3": ""}


@transaction.atomic
def demo_phone_ensure() -> PhoneLine | None:
    queues = {q.name: q for q in Queue.objects.filter(name__in=[m[2] for m in DEMO_MENU.values()])}
    if len(queues) < len(DEMO_MENU):
        return None  # the demo organisation is not seeded
    line, created = PhoneLine.objects.get_or_create(
        phone_number=DEMO_NUMBER,
        defaults={
            "name": DEMO_LINE_NAME,
            "account_sid": DEMO_ACCOUNT_SID,
            "auth_token": DEMO_AUTH_TOKEN,
            "default_queue": queues["账务 Billing"],
            "greeting_zh": "您好，欢迎致电演示公司客服热线。",
            "greeting_en": "Welcome to the demo company's hotline.",
            # No business calendar: the demo line is always open, so a replay works at any hour.
        },
    )
    if created:
        skills = {s.code: s for s in Skill.objects.all()}
        IvrOption.objects.bulk_create(
            IvrOption(line=line, digit=digit, label_zh=zh, label_en=en, queue=queues[queue], skill=skills.get(skill))
            for digit, (zh, en, queue, skill) in DEMO_MENU.items()
        )
    for username, number in DEMO_AGENT_PHONES.items():
        user = User.objects.filter(username=username).first()
        if user is not None:
            AgentPhone.objects.get_or_create(
                user=user,
                defaults={"number": number, "client_identity": f"agent-{user.pk}", "use_browser": not number},
            )
    return line
