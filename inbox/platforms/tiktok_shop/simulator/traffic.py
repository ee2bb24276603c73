"""Simulated buyers: new conversations and follow-ups in English and Chinese, orders, and
after-sales requests with photos (see :mod:`.traffic_cases`).

Steps arrive as a Poisson process at ``per_minute`` (4 a minute in ``make demo``: an
after-sales request every two and a half minutes or so). Nothing here logs message text or
buyer names.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import TYPE_CHECKING

from inbox.platforms.tiktok_shop.simulator.ratings import maybe_rate
from inbox.platforms.tiktok_shop.simulator.traffic_cases import CaseTraffic

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

logger = logging.getLogger(__name__)

NAMES_EN = [
    "Emily R.",
    "Jacob M.",
    "Olivia Chen",
    "Marcus T.",
    "Sophia L.",
    "Daniel K.",
    "Ava Brooks",
    "Ethan W.",
    "Mia Patel",
    "Noah G.",
    "Chloe D.",
    "Liam O'Brien",
    "Grace H.",
    "Lucas P.",
    "Hannah S.",
    "Tyler J.",
    "Zoe Martinez",
    "Ryan F.",
    "Isabella N.",
    "Kevin Nguyen",
    "Aaliyah B.",
    "Sam Whitaker",
    "Priya S.",
    "Jordan Lee",
]
NAMES_ZH = [
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄丽",
    "周杰",
    "吴婷",
    "徐明",
    "孙悦",
    "马超",
    "朱琳",
    "胡斌",
    "郭晓燕",
    "林小雨",
    "何佳",
    "高峰",
    "罗欣",
]
ITEMS_EN = [
    "hoodie",
    "phone case",
    "sneakers",
    "dress",
    "water bottle",
    "LED strip lights",
    "face serum",
    "yoga pants",
    "backpack",
    "wireless earbuds",
    "jeans",
    "lip tint",
]
ITEMS_ZH = [
    "卫衣",
    "手机壳",
    "运动鞋",
    "连衣裙",
    "水杯",
    "灯带",
    "精华液",
    "瑜伽裤",
    "双肩包",
    "蓝牙耳机",
    "牛仔裤",
    "口红",
]

OPENERS_EN = [
    "Hi! Does the {item} run true to size? I'm usually a medium.",
    "Hello, how long does shipping take to {place}?",
    "Hey, my {item} arrived damaged. The box was crushed. What can I do?",
    "Hi, I want to return the {item}, it doesn't fit. How do I start a return?",
    "Where is my order? It's been {days} days and tracking hasn't updated.",
    "Is the {item} still in stock in black?",
    "Hi, I ordered the wrong size {item}. Can I exchange it for a large?",
    "Can I get a refund? The {item} looks nothing like the pictures.",
    "hello?? my package says delivered but I never got it",
    "Do you ship to {place}? And how much is shipping?",
    "The {item} I got is the wrong color, I ordered white not grey.",
    "Hi there, is there a discount if I buy 2 {item}s?",
    "My order still says processing after {days} days, is everything ok?",
    "Hi, can you tell me what material the {item} is made of?",
    "I received only one item but I ordered two. Please help.",
    "Hey! Will the {item} arrive before the weekend if I order today?",
    "The zipper on my {item} broke after one day 😕",
    "Can I change my shipping address? I just placed the order.",
    "Hi, what's the size chart for the {item}? I'm 5'6\" and 130 lbs.",
    "I requested a refund {days} days ago and haven't heard anything.",
    "Is this {item} authentic? The logo looks a bit off.",
    "Hello, could you cancel my order please? I ordered by mistake.",
    "the {item} smells weird, is that normal??",
    "Hi! Just wanted to check when the {item} will be restocked.",
]
FOLLOW_UPS_EN = [
    "Any update?",
    "Thanks for the quick reply!",
    "OK, I'll wait. Please let me know.",
    "Here is my order, can you check it?",
    "I sent photos of the damage, did you get them?",
    "Still nothing on my side...",
    "Great, thank you so much!",
    "Can you just send me a replacement instead?",
    "How many more days?",
    "The tracking number doesn't work.",
    "Ok that works for me 👍",
    "Sorry, one more question: does it come with a gift box?",
    "I'd prefer a refund to my original payment method.",
    "Hello? Is anyone there?",
]
OPENERS_ZH = [
    "你好，这款{item}尺码标准吗？我平时穿M码。",
    "请问发货到{place}要几天？",
    "收到的{item}外包装破了，东西也有损坏，怎么处理？",
    "{item}不合适，想退货，怎么操作？",
    "我的订单已经{days}天了，物流一直没更新，请帮忙查一下。",
    "这个{item}还有黑色的吗？",
    "我拍错尺码了，可以换成L码吗？",
    "和图片差太多了，可以退款吗？",
    "显示已签收，但是我没收到包裹。",
    "收到的颜色不对，我买的是白色的。",
    "买两件有优惠吗？",
    "订单一直显示处理中，是不是有问题？",
    "请问{item}是什么材质的？",
    "我买了两件只收到一件，麻烦处理一下。",
    "今天下单周末前能到吗？",
    "{item}的拉链用了一天就坏了。",
    "刚下单，可以修改收货地址吗？",
    "申请退款{days}天了还没处理，怎么回事？",
    "这个是正品吗？",
    "拍错了，麻烦帮我取消订单。",
    "{item}什么时候补货？",
    "尺码表在哪里看？我身高165，体重55公斤。",
]
FOLLOW_UPS_ZH = [
    "有更新吗？",
    "谢谢回复！",
    "好的，我等消息。",
    "这是我的订单，麻烦看一下。",
    "照片已经发了，收到了吗？",
    "还是没有收到……",
    "太好了，谢谢！",
    "可以直接给我补发吗？",
    "还要等几天？",
    "物流单号查不到。",
    "在吗？",
    "我想原路退款。",
]
PLACES = [
    "Texas",
    "California",
    "New York",
    "London",
    "Manchester",
    "Kuala Lumpur",
    "Singapore",
    "Toronto",
    "Florida",
    "Ohio",
]
PLACES_ZH = ["上海", "北京", "广州", "深圳", "吉隆坡", "新加坡"]


class Traffic:
    """A daemon thread writing buyer messages through ``Simulator.buyer_message``."""

    NEW_CONVERSATION_SHARE = 0.4

    def __init__(
        self,
        sim: Simulator,
        *,
        per_minute: float,
        shop_ids: list[str] | None,
        seed: int | None,
    ) -> None:
        self.sim = sim
        self.per_minute = per_minute
        self.shop_ids = shop_ids
        self.rng = random.Random(seed)  # noqa: S311 - simulated buyers, not security
        self.buyers: list[tuple[str, str, str, str]] = []  # (shop_id, user_id, nickname, lang)
        self.cases = CaseTraffic(sim, self.rng)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tiktok-sim-traffic", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        rate = max(self.per_minute, 0.001) / 60.0
        while not self._stop.wait(self.rng.expovariate(rate)):
            try:
                self.step()
            except Exception:  # keep simulating whatever one step did
                logger.exception("simulated buyer step failed")

    def step(self) -> None:
        """One buyer message (a new conversation or a follow-up); about one step in ten an
        after-sales request (:mod:`.traffic_cases`), one in fourteen moves a case on, and one in
        twenty-five rates a chat the shop answered (:mod:`.ratings`)."""
        rng = self.rng
        shop_ids = self.shop_ids or sorted(self.sim.shops)
        if not shop_ids:
            return
        if not self.buyers or rng.random() < self.NEW_CONVERSATION_SHARE:
            lang = "zh" if rng.random() < 0.35 else "en"
            nickname = rng.choice(NAMES_ZH if lang == "zh" else NAMES_EN)
            buyer = (rng.choice(shop_ids), str(rng.randint(10**17, 10**18 - 1)), nickname, lang)
            self.buyers.append(buyer)
            opener = True
        else:
            buyer = rng.choice(self.buyers)
            opener = False
        shop_id, user_id, nickname, lang = buyer
        kind = rng.random()
        if kind < 0.08:
            # A real order of this buyer's, so Get Order Detail finds what the card shows.
            product = (rng.choice(ITEMS_EN).capitalize(), "Default", f"{rng.randint(5, 79)}.99")
            order_id = self.sim.order_create(
                shop_id, buyer_user_id=user_id, products=[product], status="DELIVERED"
            )
            self.sim.buyer_message(
                shop_id,
                buyer_user_id=user_id,
                nickname=nickname,
                type="ORDER_CARD",
                content={"order_id": order_id},
            )
            if rng.random() < 0.25:
                self.sim.return_request(
                    shop_id,
                    buyer_user_id=user_id,
                    order_id=order_id,
                    reason_text=self._text(lang, True),
                )
            return
        if 0.13 <= kind < 0.23:
            index = rng.randrange(len(ITEMS_EN))
            self.cases.request(shop_id, user_id, nickname, lang, (ITEMS_EN[index], ITEMS_ZH[index]))
            return
        if 0.23 <= kind < 0.3 and self.cases.move():
            return
        if 0.3 <= kind < 0.34 and maybe_rate(self.sim, rng, shop_id, user_id):
            return  # the buyer rated the chat the shop answered (.ratings)
        if kind < 0.13:
            product_id = str(rng.randint(1_729_000_000_000_000_000, 1_729_999_999_999_999_999))
            self.sim.buyer_message(
                shop_id,
                buyer_user_id=user_id,
                nickname=nickname,
                type="PRODUCT_CARD",
                content={"product_id": product_id},
            )
            return
        self.sim.buyer_message(
            shop_id, buyer_user_id=user_id, nickname=nickname, text=self._text(lang, opener)
        )

    def _text(self, lang: str, opener: bool) -> str:
        rng = self.rng
        if lang == "zh":
            pool = OPENERS_ZH if opener else FOLLOW_UPS_ZH
            item, place = rng.choice(ITEMS_ZH), rng.choice(PLACES_ZH)
        else:
            pool = OPENERS_EN if opener else FOLLOW_UPS_EN
            item, place = rng.choice(ITEMS_EN), rng.choice(PLACES)
        return rng.choice(pool).format(item=item, place=place, days=rng.randint(3, 14))
