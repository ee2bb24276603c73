"""The demo organisation's quick-reply library: a dozen replies a TikTok seller uses every day,
in English and Simplified Chinese, with a size chart and the return policy as materials.

Made through the services (validated, audited) and safe to run again: the import matches each
row to the active reply of the same scope and shortcut, an upload of the same bytes is the same
material, and a link already there is reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from inbox.selectors import AnyUser
from inbox.selectors.for_apps import shops_for
from templates_app import selectors, services
from templates_app.models import Scope

SIZE_CHART = Path(__file__).with_name("size-chart.png")
RETURN_POLICY_URL = "https://sunnyhome.example/help/returns"
# The region of the demo shop that gets a team reply of its own (Sunny Home UK).
TEAM_REGION = "GB"

# shortcut, title, category, English, Chinese, custom fields, materials ("size", "returns")
Reply = tuple[str, str, str, str, str, list[str], list[str]]
REPLIES: list[Reply] = [
    (
        "hi",
        "Greeting",
        "Greeting",
        'Hi {{ buyer_name | default:"there" }}, thanks for messaging {{ shop_name }}! '
        "I'm {{ agent_name }}. How can I help you today?",
        '{{ buyer_name | default:"亲" }}您好，感谢联系{{ shop_name }}！我是客服{{ agent_name }}，'
        "请问有什么可以帮您？",
        [],
        [],
    ),
    (
        "delay",
        "Shipping delay",
        "Shipping",
        "Sorry for the wait! Order {{ order_id }} is taking a little longer at our warehouse. "
        "It will ship within 2 business days, and the tracking number will appear on your "
        "order page.",
        "非常抱歉让您久等了！订单 {{ order_id }} 在仓库处理稍有延迟，将在 2 个工作日内发出，"
        "发货后物流单号会显示在订单页面。",
        [],
        [],
    ),
    (
        "track",
        "Where is my order",
        "Shipping",
        "Your order {{ order_id }} is on its way. Tracking number: {{ tracking_number }}. "
        "You can follow it in the TikTok app under Orders.",
        "您的订单 {{ order_id }} 正在配送中，物流单号：{{ tracking_number }}。"
        "可在 TikTok 应用的“订单”中查看物流。",
        [],
        [],
    ),
    (
        "return",
        "How to return an item",
        "Returns & refunds",
        "To return an item, open the order in the TikTok app, tap Return/Refund, choose the "
        "reason and add a photo. We accept returns within 30 days when the item is unused and "
        "in its original packaging. Our return policy is attached.",
        "退货步骤：在 TikTok 应用中打开订单，点击“退货/退款”，选择原因并上传照片。"
        "商品未使用且包装完好，30 天内均可退货。退货政策见附件。",
        [],
        ["returns"],
    ),
    (
        "refund",
        "Refund status",
        "Returns & refunds",
        "Your refund for order {{ order_id }} is approved on our side. TikTok Shop usually "
        "returns the money to your original payment method within 3-5 business days.",
        "订单 {{ order_id }} 的退款我们已同意，TikTok Shop 通常会在 3-5 个工作日内原路退回。",
        [],
        [],
    ),
    (
        "size",
        "Size guide",
        "Product",
        "Here is our size chart (in cm). If you are between two sizes, we recommend the larger "
        "one. Tell me your height and weight and I'll suggest a size!",
        "这是我们的尺码表（单位：厘米）。如果介于两个尺码之间，建议选大一码。"
        "告诉我您的身高和体重，我来帮您推荐尺码！",
        [],
        ["size"],
    ),
    (
        "damaged",
        "Item arrived damaged",
        "Returns & refunds",
        'I\'m so sorry your {{ product_name | default:"item" }} arrived damaged! Could you '
        "send a photo of the item and the box? We'll send a replacement or a full refund right "
        "away.",
        "非常抱歉商品到货时有损坏！请拍一张商品和外包装的照片发给我们，我们会马上为您补发或全额退款。",
        [],
        [],
    ),
    (
        "wrong",
        "Wrong item sent",
        "Returns & refunds",
        "Sorry, we sent the wrong item! No need to send it back first: share a photo of what "
        "you received and we'll ship the right one today.",
        "抱歉，我们发错了商品！无需先寄回，请拍下您收到的商品照片，我们今天就为您补发正确的商品。",
        [],
        [],
    ),
    (
        "stock",
        "Out of stock",
        "Product",
        '{{ product_name | default:"This item" }} is sold out right now. We expect new stock '
        "around {{ restock_date }}: follow our shop to hear when it is back.",
        '{{ product_name | default:"该商品" }}目前已售罄，预计 {{ restock_date }} 左右补货，'
        "关注店铺即可收到到货通知。",
        ["restock_date"],
        [],
    ),
    (
        "address",
        "Change the address",
        "Order",
        "I can change the address as long as order {{ order_id }} has not shipped yet. Please "
        "send the full new address with the postcode.",
        "订单 {{ order_id }} 发货前可以修改地址，请发送完整的新地址（含邮编）。",
        [],
        [],
    ),
    (
        "cancel",
        "Cancel an order",
        "Order",
        "You can cancel order {{ order_id }} before it ships: open the order and tap Cancel "
        "order. If the button is not there, tell me and I'll cancel it for you.",
        "订单 {{ order_id }} 发货前可以取消：打开订单，点击“取消订单”即可。"
        "如果看不到该按钮，告诉我，我来帮您取消。",
        [],
        [],
    ),
    (
        "voucher",
        "Shop vouchers",
        "Order",
        "This week's shop vouchers are on our shop page under Vouchers; they are taken off at "
        "checkout.",
        "本周的店铺优惠券可在店铺主页的“优惠券”中领取，结账时自动抵扣。",
        [],
        [],
    ),
    (
        "thanks",
        "Thanks and goodbye",
        "Closing",
        "Thanks for shopping with {{ shop_name }}! If anything else comes up, just message us "
        "here. Have a lovely day!",
        "感谢您在{{ shop_name }}购物！如有其他问题，随时在这里给我们留言。祝您生活愉快！",
        [],
        [],
    ),
]
TEAM_REPLY: Reply = (
    "ukpost",
    "UK delivery times",
    "Shipping",
    "UK orders go with Royal Mail Tracked 48 and usually arrive 2-3 working days after dispatch.",
    "英国订单通过 Royal Mail Tracked 48 寄送，发货后通常 2-3 个工作日送达。",
    [],
    [],
)


def _materials(actor: AnyUser) -> dict[str, int]:
    chart, _ = services.material_upload(
        actor=actor,
        name="Size chart (cotton tee)",
        content=SIZE_CHART.read_bytes(),
        scope=Scope.ORGANISATION,
    )
    policy = (
        selectors.material_list_for(actor)
        .filter(scope=Scope.ORGANISATION, url=RETURN_POLICY_URL)
        .first()
    )
    if policy is None:
        policy = services.material_link_create(
            actor=actor, name="Return policy", url=RETURN_POLICY_URL, scope=Scope.ORGANISATION
        )
    return {"size": chart.id, "returns": policy.id}


def _row(reply: Reply, scope: str, shops: list[int], materials: dict[str, int]) -> dict[str, Any]:
    shortcut, title, category, english, chinese, custom, attached = reply
    return {
        "shortcut": shortcut,
        "title": title,
        "category": category,
        "scope": scope,
        "shop_account_ids": shops,
        "default_language": "en",
        "body": english,
        "translations": {"zh-hans": chinese},
        "custom_fields": custom,
        "material_ids": [materials[m] for m in attached],
    }


@transaction.atomic
def demo_library_seed(*, actor: AnyUser) -> dict[str, list[int]]:
    """Create or refresh the demo library as ``actor`` (a supervisor or admin of the demo
    organisation); returns the import's ``created``/``updated``/``unchanged`` ids."""
    materials = _materials(actor)
    rows = [_row(r, Scope.ORGANISATION, [], materials) for r in REPLIES]
    team = [s.id for s in shops_for(actor) if s.region == TEAM_REGION]
    if team:
        rows.append(_row(TEAM_REPLY, Scope.TEAM, team, materials))
    return services.quick_reply_import(actor=actor, rows=rows)
