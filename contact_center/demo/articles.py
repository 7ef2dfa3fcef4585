"""Demo knowledge-base articles in Chinese and English (linked translations). Idempotent."""

CATEGORIES = [
    # slug, zh, en, description zh, description en
    (
        "account",
        "账户与登录",
        "Account & sign-in",
        "注册、登录、密码与安全",
        "Sign-up, sign-in, passwords and security",
    ),
    ("billing", "付款与退款", "Billing & refunds", "付款方式、发票、退款", "Payment methods, invoices, refunds"),
    ("orders", "订单与物流", "Orders & delivery", "下单、配送、退换货", "Ordering, delivery, returns"),
    ("product", "产品使用", "Using the product", "设置、功能与常见问题", "Setup, features and common questions"),
]

# key, category, zh title, zh body, en title, en body
ARTICLES = [
    (
        "refund",
        "billing",
        "如何申请退款",
        "如果您对订单不满意，可以在收货后 7 天内申请退款。\n\n"
        "## 申请步骤\n- 打开“我的订单”，找到需要退款的订单\n- 点击“申请退款”，选择退款原因并上传照片\n"
        "- 提交后客服会在 1 个工作日内审核\n\n退款审核通过后，款项会原路退回：支付宝和微信支付 1–3 个工作日到账，"
        "银行卡 3–7 个工作日到账。",
        "How to request a refund",
        "If you are not happy with an order you can request a refund within 7 days of delivery.\n\n## Steps\n"
        "- Open My orders and find the order\n- Click Request refund, choose a reason and upload photos\n"
        "- Our team reviews it within one business day\n\nApproved refunds go back to the original payment method: "
        "Alipay and WeChat Pay in 1–3 business days, bank cards in 3–7 business days.",
    ),
    (
        "refund-status",
        "billing",
        "退款进度查询与到账时间",
        "提交退款申请后，可在“我的订单 → 退款详情”查看进度。"
        "状态依次为：待审核、已同意、退款中、已到账。\n\n如果超过 7 个工作日仍未到账，请联系客服并提供订单号。",
        "Checking refund status and when the money arrives",
        "After you request a refund, follow it under My orders → Refund details. The status goes from Pending review "
        "to Approved, Refunding and Completed.\n\nIf the money has not arrived after 7 business days, contact support "
        "with your order number.",
    ),
    (
        "reset-password",
        "account",
        "忘记密码怎么办：重置密码",
        "在登录页点击“忘记密码”，输入注册手机号或邮箱，"
        "我们会发送验证码。输入验证码后即可设置新密码。\n\n新密码至少 8 位，需包含字母和数字。"
        "如果收不到验证码，请检查垃圾邮件或稍后重试。",
        "How do I reset my password",
        "On the sign-in page click Forgot password and enter the phone number or email address of your account. "
        "We send you a verification code; enter it and choose a new password.\n\nPasswords need at least 8 "
        "characters with letters and digits. No code? Check your spam folder or try again in a minute.",
    ),
    (
        "change-password",
        "account",
        "修改登录密码",
        "登录后进入“账户设置 → 安全”，输入当前密码和新密码即可修改。修改后其他设备会自动退出登录。",
        "Changing your password",
        "Signed in, go to Account settings → Security, enter your current password and the new one. Other devices "
        "are signed out after the change.",
    ),
    (
        "login-problems",
        "account",
        "无法登录账户的常见原因",
        "无法登录时请检查：账号或密码是否输入正确、"
        "大写锁定是否打开、账户是否因多次输错被临时锁定（15 分钟后自动解锁）。\n\n仍然无法登录，请使用“忘记密码”重置。",
        "Can't sign in to your account",
        "If you cannot sign in, check the account name and password, Caps Lock, and whether the account was locked "
        "for 15 minutes after too many failed attempts.\n\nStill stuck? Use Forgot password to reset it.",
    ),
    (
        "two-factor",
        "account",
        "开启两步验证",
        "两步验证可以保护您的账户安全。在“账户设置 → 安全”中开启，登录时除了密码还需输入手机收到的验证码。",
        "Turning on two-step verification",
        "Two-step verification protects your account. Turn it on under Account settings → Security; signing in "
        "then needs the code sent to your phone as well as your password.",
    ),
    (
        "change-phone",
        "account",
        "更换绑定的手机号",
        "进入“账户设置 → 手机号”，先验证原手机号，"
        "再输入新手机号并填写验证码。原手机号已停用时，请联系客服人工核验身份。",
        "Changing the phone number on your account",
        "Go to Account settings → Phone number, verify the old number, then enter the new one and its code. If the "
        "old number no longer works, contact support to verify your identity.",
    ),
    (
        "delete-account",
        "account",
        "注销账户",
        "注销账户后数据将在 30 天后永久删除且无法恢复。"
        "请先确认没有未完成的订单和退款，然后在“账户设置 → 注销账户”提交申请。",
        "Closing your account",
        "When you close your account your data is deleted for good after 30 days. Finish open orders and refunds "
        "first, then submit the request under Account settings → Close account.",
    ),
    (
        "invoice",
        "billing",
        "如何开具发票",
        "订单完成后，可在“我的订单 → 申请发票”开具电子发票。支持增值税普通发票和"
        "专用发票，专票需填写公司名称、统一社会信用代码、开户行及账号。电子发票会发送到您的邮箱。",
        "Getting an invoice (fapiao)",
        "After an order is completed, request an electronic invoice under My orders → "
        "Request invoice. Ordinary and special VAT invoices are available; a special invoice needs the company name, "
        "credit code and bank account. The invoice is emailed to you.",
    ),
    (
        "payment-methods",
        "billing",
        "支持的付款方式",
        "我们支持支付宝、微信支付、银联卡和企业对公转账。国际客户可使用 Visa、Mastercard 和 PayPal。",
        "Payment methods we accept",
        "We accept Alipay, WeChat Pay, UnionPay cards and company bank transfers. International customers can pay "
        "with Visa, Mastercard and PayPal.",
    ),
    (
        "payment-failed",
        "billing",
        "付款失败怎么办",
        "付款失败通常是因为余额不足、银行卡限额或网络中断。"
        "订单会保留 30 分钟，请在此期间重新支付或更换付款方式。"
        "如果已扣款但订单显示未付款，款项会在 24 小时内自动退回。",
        "My payment failed",
        "A payment usually fails because of insufficient balance, a card limit or a dropped "
        "connection. The order is kept for 30 minutes: pay again or choose another method. If you were charged but "
        "the order still shows unpaid, the charge is reversed automatically within 24 hours.",
    ),
    (
        "subscription-cancel",
        "billing",
        "取消自动续费订阅",
        "在“账户设置 → 订阅”中关闭自动续费即可。当前周期结束前仍可正常使用，不会再次扣费。",
        "Cancelling a subscription renewal",
        "Turn off automatic renewal under Account settings → Subscription. You keep access until the end of the "
        "current period and are not charged again.",
    ),
    (
        "delivery-time",
        "orders",
        "配送时间与物流查询",
        "现货订单在 24 小时内发货，江浙沪 1–2 天送达，其他地区 "
        "2–5 天。可在“我的订单 → 物流详情”查看快递单号和实时物流。",
        "Delivery times and tracking your parcel",
        "In-stock orders ship within 24 hours and arrive in 2–5 days in mainland China, 7–15 days abroad. Track the "
        "parcel under My orders → Tracking with the courier's tracking number.",
    ),
    (
        "change-address",
        "orders",
        "修改收货地址",
        "订单发货前可在“我的订单”中修改收货地址；已发货的订单请联系快递公司或客服协助改派。",
        "Changing the delivery address",
        "Before an order ships you can change the address in My orders. Once shipped, ask the courier or our support "
        "team to redirect it.",
    ),
    (
        "return-exchange",
        "orders",
        "退货与换货政策",
        "自收货之日起 7 天内可无理由退货，15 天内质量问题可换货。"
        "商品需保持完好、配件齐全。退货运费：质量问题由我们承担，非质量问题由买家承担。",
        "Returns and exchanges",
        "You can return an item for any reason within 7 days of delivery and exchange a faulty item within 15 days. "
        "Items must be complete and undamaged. We pay return shipping for faulty items; otherwise the buyer does.",
    ),
    (
        "damaged-item",
        "orders",
        "收到的商品破损或有质量问题",
        "请在收货 48 小时内拍照（外包装、商品、快递单）并联系客服，我们会为您补发或退款。",
        "The item arrived damaged or faulty",
        "Within 48 hours of delivery take photos of the box, the item and the shipping label and contact support; "
        "we will send a replacement or refund you.",
    ),
    (
        "cancel-order",
        "orders",
        "取消订单",
        "未发货的订单可在“我的订单”中直接取消，款项原路退回。已发货订单无法取消，可在收货后申请退货。",
        "Cancelling an order",
        "Orders that have not shipped can be cancelled in My orders and the payment goes back to you. Shipped "
        "orders cannot be cancelled; return the item after delivery instead.",
    ),
    (
        "app-install",
        "product",
        "下载并安装手机 App",
        "在应用商店搜索“云客服”下载 App，支持 iOS 13 及以上和 Android 8 及以上。安装后用您的账号登录即可同步数据。",
        "Installing the mobile app",
        "Search for the app in the App Store or Google Play; it runs on iOS 13+ and Android 8+. Sign in with your "
        "account to sync your data.",
    ),
    (
        "notifications",
        "product",
        "收不到消息通知",
        "请在手机“设置 → 通知”中允许 App 推送通知，并在 App 内"
        "“我的 → 通知设置”中打开对应开关。省电模式可能会延迟通知。",
        "Not receiving notifications",
        "Allow notifications for the app in your phone's settings and switch on the types you want under Me → "
        "Notification settings. Battery saver can delay notifications.",
    ),
    (
        "export-data",
        "product",
        "导出数据为 Excel",
        "在列表页点击右上角“导出”，选择 CSV 或 Excel 格式。单次最多导出 5 万条记录。",
        "Exporting your data to Excel",
        "On any list click Export at the top right and choose CSV or Excel. One export holds up to 50,000 rows.",
    ),
    (
        "invite-team",
        "product",
        "邀请团队成员",
        "管理员可在“团队设置 → 成员”中输入同事邮箱发送邀请，并为其分配角色。",
        "Inviting team members",
        "Admins invite colleagues under Team settings → Members by email address and choose their role.",
    ),
    (
        "business-hours",
        "product",
        "客服工作时间",
        "人工客服工作时间为周一至周五 9:00–18:00（法定节假日除外）。非工作时间可留言，我们会在下一个工作日回复。",
        "Support opening hours",
        "Our support team answers Monday to Friday, 9:00–18:00 China time, except public holidays. Leave a message "
        "outside these hours and we reply on the next business day.",
    ),
    (
        "warranty",
        "product",
        "保修政策",
        "所有设备享受一年免费保修，人为损坏除外。保修期内凭订单号可免费维修或更换。",
        "Warranty policy",
        "All devices come with a one-year warranty that excludes accidental damage. Within the "
        "warranty we repair or replace the device for free with your order number.",
    ),
    (
        "privacy",
        "account",
        "我们如何保护您的个人信息",
        "我们仅在提供服务所需的范围内收集信息，数据加密存储在中国境内的服务器上，不会出售给第三方。",
        "How we protect your personal data",
        "We collect only what the service needs, store it encrypted on servers in mainland China and never sell it "
        "to third parties.",
    ),
]

AGENT_ONLY = {
    # internal articles: agents only
    "refund-exception": (
        "billing",
        "【内部】超期退款特批流程",
        "超过 7 天的退款需主管审批：在工单中添加备注“特批退款”，并 @ 当班主管。",
        "[Internal] Approving a late refund",
        "Refunds after the 7-day window need a supervisor: add the note 'late refund' on the "
        "ticket and mention the supervisor on duty.",
    ),
}


def demo_articles_ensure() -> int:
    """Create the demo categories and articles that are missing; returns how many articles were created."""
    from knowledge_base.models import Article, Category, Status, Visibility
    from knowledge_base.services import article_create

    categories = {}
    for position, (slug, zh, en, dzh, den) in enumerate(CATEGORIES):
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug,
            defaults={"name_zh": zh, "name_en": en, "description_zh": dzh, "description_en": den, "position": position},
        )
    created = 0
    rows = [(*row, Visibility.PUBLIC) for row in ARTICLES]
    rows += [(key, *row, Visibility.INTERNAL) for key, row in AGENT_ONLY.items()]
    for position, (key, category, zh_title, zh_body, en_title, en_body, visibility) in enumerate(rows):
        en_slug = key
        if Article.objects.filter(language="en", slug=en_slug).exists():
            continue
        en = article_create(
            by=None,
            category=categories[category],
            title=en_title,
            body=en_body,
            language="en",
            slug=en_slug,
            visibility=visibility,
            status=Status.PUBLISHED,
            tags=[key],
        )
        article_create(
            by=None,
            category=categories[category],
            title=zh_title,
            body=zh_body,
            language="zh",
            visibility=visibility,
            status=Status.PUBLISHED,
            translation_of=en,
            tags=[key],
        )
        Article.objects.filter(translation_key=en.translation_key).update(position=position)
        created += 2
    return created
