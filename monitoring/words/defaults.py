"""The shipped defaults: a curated word list in English and Chinese for the four word categories,
each category's action, the platform's own link domains, and the phrases that tag a buyer's
message with a risk.

Chosen for TikTok Shop sellers: what gets a shop penalised is steering buyers off the platform
(messengers, direct payment), buying or editing reviews, abusing buyers, and absolute or medical
claims. Words are written as people type them; the shared normalisation (normalise.py) takes care
of case, full-width letters, traditional characters and Chinese numerals, so each entry is
listed once (a test holds the normalised forms unique). Everyday words that merely resemble a
risk ("trash bag", 垃圾袋, 滚筒, 第一次, "line 2") are deliberately absent.
"""

from __future__ import annotations

OFF_PLATFORM = "off_platform"
REVIEW = "review_manipulation"
ABUSE = "abuse"
PROMISE = "forbidden_promise"

# Category -> action, the four word categories, custom words and the four detectors. Leaking
# contact details is masked (the rest of the reply still goes); steering off-platform, buying
# reviews and abuse are refused; promises and links go out and are reviewed.
DEFAULT_CATEGORY_ACTIONS: dict[str, str] = {
    OFF_PLATFORM: "block",
    REVIEW: "block",
    ABUSE: "block",
    PROMISE: "flag",
    "custom": "flag",
    "phone": "mask",
    "email": "mask",
    "messenger_handle": "block",
    "link": "flag",
}

# The platform's own domains: the link detector always lets them through (and subdomains).
PLATFORM_DOMAINS: tuple[str, ...] = (
    "tiktok.com",
    "tiktokshop.com",
    "tiktokglobalshop.com",
    "tiktokv.com",
    "tiktokcdn.com",
    "tiktokcdn-us.com",
)
DEFAULT_ALLOW_DOMAINS = PLATFORM_DOMAINS

_OFF_PLATFORM_EN = """
whatsapp | whats app | wechat | weixin | telegram | add me on whatsapp | add me on wechat |
add my wechat | add me on telegram | add me on line | my line id | my whatsapp | my wechat |
my telegram |
whatsapp me | message me on whatsapp | text me on whatsapp | chat on whatsapp |
contact me on whatsapp | reach me on telegram | dm me on instagram | message me on facebook |
add my qq | contact me directly | order directly from us | buy directly from us |
pay me directly | pay us directly | pay via paypal | paypal me | bank transfer | wire transfer |
western union | cash app | venmo | zelle | outside tiktok | off tiktok | off the platform |
outside the platform | outside the app | cheaper on our website | order on our website |
visit our website | our own website | our official website | call me at | text me at |
email me at | send me your email | send me your phone number | your whatsapp number |
your wechat id | give me your number
"""
_OFF_PLATFORM_ZH = """
微信 | 加微信 | 加我微信 | 加个微信 | 加v | 加vx | 加wx | 加薇 | 加我v | 微信联系 | 微信号 |
私聊微信 | 微信转账 | 微信同号 | 加qq | qq号 | 扣扣 | 加群 | 进群 | 拉你进群 | 私下交易 |
私下联系 | 线下交易 | 站外交易 | 平台外 | 绕过平台 | 不走平台 | 直接转账 | 支付宝转账 |
支付宝付款 | 银行转账 | 转账给我 | 打款到 | 淘宝店 | 去淘宝 | 拼多多 | 我们的网站 | 官网下单 |
加电报 | 飞机号 | 留个电话 | 留下电话 | 电话联系我 | 给我打电话 | 你手机号 | 扫码加 |
发个二维码 | 私信我电话 | 加我好友 | 私下退款
"""
_REVIEW_EN = """
5 stars and we refund | 5 star review for a refund | 5 stars for a refund |
leave a 5 star review and | give us 5 stars and | give us five stars and | rate us 5 stars and |
five star review and get | positive review and get | good review for a refund |
review for a refund | refund after review | refund after you review | cashback for a review |
cash back for a review | cash back for your review | free gift for a review |
gift for a good review | coupon for a review | we will pay you for a review | paid review |
in exchange for a review | in exchange for a positive review | review in exchange |
compensation for the review | change your review | delete your review | remove your review |
edit your review | update your review | remove the bad review | delete the negative review |
remove the negative review | change your rating | change it to 5 stars |
don't leave a bad review | please don't leave a negative review | fake reviews |
boost our reviews
"""
_REVIEW_ZH = """
好评返现 | 好评返钱 | 好评有礼 | 好评送 | 好评返红包 | 五星好评返 | 五星好评送 | 评价返现 |
晒图返现 | 追评返现 | 好评截图 | 评价截图发我 | 截图返 | 好评后退款 | 给好评退款 | 好评再退款 |
删除差评 | 删掉差评 | 删差评 | 撤销差评 | 改成好评 | 改好评 | 修改评价 | 改评价 | 追加好评返 |
刷单 | 刷好评 | 刷评价 | 刷销量 | 补单 | 差评不退 | 给个五星就 | 好评给你退 | 好评领红包 |
带图好评返
"""
_ABUSE_EN = """
idiot | stupid | moron | dumb | dumbass | shut up | fuck | fucking | fuck off | fuck you |
shit | bullshit | bitch | son of a bitch | bastard | asshole | ass | dick | cunt | retard |
retarded | loser | scum | piss off | go to hell | screw you | get lost | are you blind | jerk |
whore | slut | kill yourself | kys | stfu | wtf | imbecile | pathetic
"""
_ABUSE_ZH = """
傻逼 | 傻b | sb | 煞笔 | 沙比 | 草泥马 | 操你妈 | 操你 | 滚蛋 | 滚开 | 去死 | 妈的 | 他妈的 |
你妈的 | 白痴 | 脑残 | 弱智 | 神经病 | 贱人 | 婊子 | 王八蛋 | 混蛋 | 畜生 | 垃圾人 | 你是垃圾 |
狗东西 | 死全家 | 有病吧 | 你有病 | 废物 | 蠢货 | 智障 | 闭嘴 | 日你 | 卧槽 | 妈逼 | nmsl |
cnm | tmd | 你算什么东西
"""
_PROMISE_EN = """
guaranteed | 100% guaranteed | guaranteed results | guaranteed to work | 100% authentic |
100% original | 100% genuine | 100% safe | 100% effective | best in the world |
number one in the world | no.1 brand | cure | cures | miracle | risk-free | no side effects |
fda approved | permanent results | lose weight fast | instant results | money back guarantee |
double refund | lifetime warranty | never breaks | free forever | we promise | i promise
"""
_PROMISE_ZH = """
100%正品 | 百分百正品 | 正品保证 | 绝对正品 | 保证有效 | 包治百病 | 根治 | 药到病除 | 无副作用 |
全网最低 | 全网最低价 | 全网第一 | 第一品牌 | 国家级 | 世界级 | 顶级 | 最便宜 | 假一赔十 |
假一罚十 | 永久保修 | 终身保修 | 无效退款 | 包过 | 稳赚 | 零风险 | 永不褪色 | 立即见效 |
三天见效 | 快速减肥 | 纯天然无添加 | 保证不坏 | 我保证 | 绝对没问题
"""


def _split(block: str) -> list[str]:
    return [w.strip() for w in block.split("|") if w.strip()]


def default_entries() -> list[tuple[str, str]]:
    """(word, category) of the curated list, English then Chinese per category."""
    out: list[tuple[str, str]] = []
    for category, blocks in (
        (OFF_PLATFORM, (_OFF_PLATFORM_EN, _OFF_PLATFORM_ZH)),
        (REVIEW, (_REVIEW_EN, _REVIEW_ZH)),
        (ABUSE, (_ABUSE_EN, _ABUSE_ZH)),
        (PROMISE, (_PROMISE_EN, _PROMISE_ZH)),
    ):
        for block in blocks:
            out += [(word, category) for word in _split(block)]
    return out


_RISK_OFF_PLATFORM = """
your whatsapp | your wechat | your telegram | whatsapp number | wechat id | add me on whatsapp |
add me on wechat | my whatsapp is | my wechat is | talk on whatsapp | contact you outside |
outside tiktok | pay you directly | pay directly | cheaper outside | do you have wechat |
do you have whatsapp | your phone number | your email | 你微信 | 加你微信 | 加我微信 |
有微信吗 | 有没有微信 | 微信联系 | 私下交易 | 私下联系 | 直接转账 | 留个电话 | 你电话多少 |
你手机号 | 加个好友 | qq多少 | 加你qq | 私聊 | add you on whatsapp | add you on wechat |
add you on telegram | add you on line | add you on instagram | 加微信 | 加个微信 | 微信号 | 加v |
威信号
"""
_RISK_BAD_REVIEW = """
bad review | negative review | 1 star | one star | leave a bad review | terrible review |
honest review about this | warn other buyers | 差评 | 给差评 | 打差评 | 给1星 | 打1星 |
1星评价 | 给你差评 | 中评 | 负面评价 | 评价里说 | 让大家看看
"""
_RISK_COMPLAINT = """
complaint | complain | report you | report your shop | report this shop | report to tiktok |
tiktok support | customer protection | consumer protection | lawyer | sue you | legal action |
chargeback | dispute with my bank | scam | scammer | fraud | 投诉 | 举报 | 12315 | 消协 |
消费者协会 | 工商局 | 找平台 | 平台介入 | 起诉 | 律师 | 报警 | 曝光 | 骗子 | 诈骗
"""

BUYER_RISK_ENTRIES: list[tuple[str, str]] = [
    *((w, "off_platform") for w in _split(_RISK_OFF_PLATFORM)),
    *((w, "bad_review_threat") for w in _split(_RISK_BAD_REVIEW)),
    *((w, "complaint_threat") for w in _split(_RISK_COMPLAINT)),
    *((w, "abuse") for block in (_ABUSE_EN, _ABUSE_ZH) for w in _split(block)),
]
