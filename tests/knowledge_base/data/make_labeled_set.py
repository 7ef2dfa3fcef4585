"""Writes articles.json for the search labeled set: the demo articles plus product articles
(8 products x 10 topics, zh and en). Run: .venv/bin/python -m tests.knowledge_base.data.make_labeled_set"""

import json
from pathlib import Path

from contact_center.demo.articles import AGENT_ONLY, ARTICLES

PRODUCTS = [
    ("lock", "智能门锁 X1", "Smart Lock X1"),
    ("vacuum", "扫地机器人 R5", "Robot Vacuum R5"),
    ("purifier", "空气净化器 A3", "Air Purifier A3"),
    ("camera", "智能摄像头 C2", "Security Camera C2"),
    ("earbuds", "蓝牙耳机 B7", "Bluetooth Earbuds B7"),
    ("toothbrush", "电动牙刷 T9", "Electric Toothbrush T9"),
    ("watch", "智能手表 W4", "Smart Watch W4"),
    ("router", "无线路由器 N6", "Wi-Fi Router N6"),
]
TOPICS = [
    (
        "wifi",
        "{zh}如何连接 Wi-Fi 网络",
        "打开 App，点击“添加设备”，选择{zh}，输入家中 2.4GHz Wi-Fi 的名称和密码。"
        "设备指示灯变为常亮蓝色即表示联网成功。暂不支持 5GHz 网络。",
        "Connecting the {en} to Wi-Fi",
        "Open the app, tap Add device, choose the {en} and enter the name and "
        "password of your 2.4 GHz Wi-Fi network. A steady blue light means it is online. 5 GHz networks are not "
        "supported.",
    ),
    (
        "firmware",
        "{zh}固件升级",
        "在 App 的设备页面点击“固件升级”，升级过程约 5 分钟，期间请勿断电。新固件修复了已知问题并提升稳定性。",
        "Updating the {en} firmware",
        "On the device page in the app tap Firmware update. The update takes about five minutes; keep the device "
        "powered. New firmware fixes known issues and improves stability.",
    ),
    (
        "battery",
        "{zh}电池与充电说明",
        "使用原装充电器充电，充满约需 2 小时。电量低于 10% 时指示灯闪烁红色。长期不用请每三个月充一次电。",
        "{en} battery and charging",
        "Charge with the original charger; a full charge takes about two hours. The light blinks red below 10% "
        "battery. Charge it every three months when stored.",
    ),
    (
        "factory",
        "{zh}恢复出厂设置",
        "长按设备背面的复位键 10 秒，听到提示音后松开，设备将恢复出厂设置，所有配置会被清除，需要在 App 中重新添加。",
        "Factory resetting the {en}",
        "Hold the reset button on the back for 10 seconds until it beeps. The device returns to factory settings, "
        "all configuration is erased and you add it again in the app.",
    ),
    (
        "clean",
        "{zh}清洁与保养",
        "请用干燥的软布擦拭外壳，不要使用酒精或腐蚀性清洁剂。建议每月检查一次部件磨损情况。",
        "Cleaning and caring for the {en}",
        "Wipe the housing with a dry soft cloth; do not use alcohol or harsh cleaners. Check the parts for wear "
        "once a month.",
    ),
    (
        "offline",
        "{zh}显示离线怎么办",
        "设备离线通常是路由器更换了密码或信号太弱。请将设备靠近路由器，"
        "重启设备和路由器；仍离线请在 App 中删除后重新添加。",
        "The {en} shows as offline",
        "A device usually goes offline after the router's password changed or the signal is weak. Move it closer to "
        "the router and restart both; if it stays offline remove it in the app and add it again.",
    ),
    (
        "claim",
        "{zh}保修申请",
        "在保修期内出现故障，请在 App 中提交保修申请并上传故障视频，审核通过后寄回维修点，我们承担来回运费。",
        "Making a warranty claim for the {en}",
        "If the device fails within the warranty, file a claim in the app with a video of the fault. Once approved, "
        "send it to the repair centre; we pay shipping both ways.",
    ),
    (
        "accessories",
        "{zh}配件购买",
        "原装配件可在官方商城购买，包括充电线、替换零件和保护套。第三方配件可能影响使用寿命。",
        "Buying accessories for the {en}",
        "Original accessories — cables, spare parts and cases — are sold in our official store. Third-party parts "
        "can shorten the device's life.",
    ),
    (
        "pair",
        "{zh}与手机 App 配对",
        "打开手机蓝牙和定位权限，在 App 中点击“扫描附近设备”，选择{zh}完成配对。配对失败请重启手机蓝牙后重试。",
        "Pairing the {en} with the phone app",
        "Turn on Bluetooth and location permission, tap Scan for nearby devices in the app and pick the {en}. If "
        "pairing fails, toggle Bluetooth off and on and try again.",
    ),
    (
        "specs",
        "{zh}产品参数与说明书",
        "{zh}的尺寸、重量、功率等参数以及电子版说明书可在官网产品页下载。",
        "{en} specifications and manual",
        "Dimensions, weight, power rating and the PDF manual of the {en} are on the product page of our website.",
    ),
]


def build() -> list[dict]:
    articles = []
    for key, category, zh_title, zh_body, en_title, en_body in ARTICLES:
        articles.append({"id": f"{key}.zh", "category": category, "language": "zh", "title": zh_title, "body": zh_body})
        articles.append({"id": f"{key}.en", "category": category, "language": "en", "title": en_title, "body": en_body})
    for key, (category, zh_title, zh_body, en_title, en_body) in AGENT_ONLY.items():
        for language, title, body in (("zh", zh_title, zh_body), ("en", en_title, en_body)):
            articles.append(
                {
                    "id": f"{key}.{language}",
                    "category": category,
                    "language": language,
                    "title": title,
                    "body": body,
                    "internal": True,
                }
            )
    for product, zh, en in PRODUCTS:
        for topic, zh_title, zh_body, en_title, en_body in TOPICS:
            articles.append(
                {
                    "id": f"{product}-{topic}.zh",
                    "category": "product",
                    "language": "zh",
                    "title": zh_title.format(zh=zh),
                    "body": zh_body.format(zh=zh),
                }
            )
            articles.append(
                {
                    "id": f"{product}-{topic}.en",
                    "category": "product",
                    "language": "en",
                    "title": en_title.format(en=en),
                    "body": en_body.format(en=en),
                }
            )
    return articles


if __name__ == "__main__":
    path = Path(__file__).with_name("articles.json")
    path.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
