"""Pattern detectors for what no word list can hold: phone numbers, e-mail addresses, messenger
handles and links outside an allow-list of domains.

Each runs on the detectors' view of the text (normalise.py: case-folded, full-width and
other-script digits and Chinese numerals as ASCII digits, separators between single characters
removed, other separators as written) and returns ``(start, end, category)`` in that view.

What they deliberately do not catch (see docs/words-matching.md): TikTok order ids (16+ digits),
tracking numbers (digits glued to letters, or introduced by "tracking"/"单号"/"快递"), prices
(a currency sign or unit next to them, or thousands separators), dates and times, and bare digit
runs that look like nothing in particular (a phone number needs a "+", the shape of a Chinese
mobile number or of a North-American number, or a phone word shortly before it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Found = tuple[int, int, str]

PHONE = "phone"
EMAIL = "email"
HANDLE = "messenger_handle"
LINK = "link"

# --- phone numbers ---------------------------------------------------------------------------
# Up to three separators of any kind between digits (spaces, dashes, dots, brackets, emoji), but
# never a currency sign, "@", ":" (times) or "%".
# Digits glued to Latin letters or other digits are something else (SF1234567890, a longer
# number); glued to Chinese characters they are not ("电话13800138000谢谢").
_PHONE = re.compile(r"(?<![a-z0-9])\d(?:[^\w\n+$¥€£@:%]{0,3}\d){6,19}(?![a-z0-9])")
# A "+" or "(" right before the first digit belongs to the number (read back from the text, so
# the regex starts only at digits).
_PHONE_LEAD = re.compile(r"(?:\+|\()\s*$")
_PHONE_WORDS = re.compile(
    r"(?:phone|call|tel|mobile|cell|whats\s?app|wechat|text me|sms|contact|reach me|"
    r"电话|手机|号码|致电|打给|打我|拨打|联系|来电|短信|微信|whatsapp)"
)
# Numbers introduced by these are orders, parcels or money, never a phone.
_NOT_PHONE_WORDS = re.compile(
    r"(?:order|tracking|track|parcel|package|invoice|sku|item|id\b|no\.|amount|price|total|"
    r"订单|单号|物流|快递|运单|包裹|编号|金额|价格|价|元|退款|发票)"
)
_CN_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
_NANP = re.compile(r"\(?\s*\d{3}\s*\)?[\s.\-]\s*\d{3}[\s.\-]\d{4}")
_DATE = re.compile(
    r"\d{4}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}|\d{1,2}\s*[-./]\s*\d{1,2}\s*[-./]\s*\d{2,4}"
)
_CURRENCY_BEFORE = re.compile(r"(?:[$¥€£]|rm|usd|rmb|cny|sgd|myr|php|thb|idr|vnd)\s*$")
_CURRENCY_AFTER = re.compile(r"^\s*(?:元|块|円|usd|rmb|dollars?|bucks|%|件|个|pcs)")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


def _phone_ok(text: str, start: int, end: int, lead: str) -> bool:
    raw = text[start:end].lstrip("+(")
    digits = re.sub(r"\D", "", raw)
    n = len(digits)
    if n > 15 or _DATE.fullmatch(raw.strip("( ")) or _THOUSANDS.fullmatch(raw):
        return False
    before = text[max(0, start - 24) : start]
    if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(text[end : end + 6]):
        return False
    if lead.startswith("+"):
        return 8 <= n <= 15
    if _NOT_PHONE_WORDS.search(before[-14:]):
        return False
    if _CN_MOBILE.fullmatch(digits) or _NANP.fullmatch(raw.strip()):
        return True
    return 7 <= n <= 15 and bool(_PHONE_WORDS.search(before))


def find_phones(text: str) -> list[Found]:
    out = []
    for m in _PHONE.finditer(text):
        start = m.start()
        lead = _PHONE_LEAD.search(text, max(0, start - 3), start)
        if lead is not None and lead.start() > 0 and text[lead.start() - 1].isalnum():
            lead = None
        if lead is not None:
            start = lead.start()
        if _phone_ok(text, start, m.end(), lead.group() if lead else ""):
            out.append((start, m.end(), PHONE))
    return out


# --- e-mail addresses -------------------------------------------------------------------------
_TLDS = (
    r"com|net|org|edu|gov|cn|io|co|me|uk|us|de|fr|jp|kr|hk|tw|sg|my|ph|th|vn|id|au|ca|ru|in|"
    r"info|biz|shop|store|xyz|top|vip|cc|tv|app|online|site|club|icu|live|email"
)
_EMAIL = re.compile(
    r"[a-z0-9][\w.%+\-]*\s*@\s*[a-z0-9\-]+(?:\s*[.。]\s*[a-z0-9\-]+)*\s*[.。]\s*[a-z]{2,}", re.ASCII
)
_AT_BRACKET = r"\s*(?:[\[({<]\s*(?:at|@)\s*[\])}>]|艾特|圈a)\s*"
_DOT_ANY = r"\s*(?:[.。]|[\[({<]\s*dot\s*[\])}>]|\bdot\b|点)\s*"
_PROVIDERS = (
    r"gmail|googlemail|yahoo|hotmail|outlook|live|msn|icloud|me|aol|proton|protonmail|yandex|"
    r"mail|gmx|qq|foxmail|163|126|yeah|sina|sohu|aliyun|139"
)
# "name [at] domain (dot) com" with a bracketed or Chinese "at"; or a plain " at " when the
# domain is a mail provider or the dot is spelled out ("look at tiktok.com" is not an address).
_EMAIL_OBFUSCATED = re.compile(
    rf"(?<![a-z0-9_.])[a-z0-9][\w.\-]*(?:{_AT_BRACKET}[a-z0-9\-]+(?:{_DOT_ANY}[a-z0-9\-]+)*"
    rf"|\s+at\s+(?:(?:{_PROVIDERS})(?:{_DOT_ANY}[a-z0-9\-]+)*"
    rf"|[a-z0-9\-]+(?:{_DOT_ANY}[a-z0-9\-]+)*(?=\s*(?:[\[({{<]\s*dot|\bdot\b|点))))"
    rf"{_DOT_ANY}(?:{_TLDS})\b"
)


# Cheap tests first: most texts have no "@" and no "at" of any kind.
_EMAIL_HINT = re.compile(r"\bat\b|艾特|圈a")


def find_emails(text: str) -> list[Found]:
    found = [(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)] if "@" in text else []
    if not _EMAIL_HINT.search(text):
        return found
    for m in _EMAIL_OBFUSCATED.finditer(text):
        if not any(s <= m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), EMAIL))
    return found


# --- messenger handles ------------------------------------------------------------------------
# Names that are messengers and nothing else (an id may follow with no connector at all)...
_STRONG = (
    r"wechat|weixin|微信|威信|薇信|维信|徽信|微x|v信|vx|wx|weχ|whatsapp|whats\s?app|watsapp|"
    r"telegram|电报|qq|扣扣|企鹅号|skype|kakao(?:talk)?|viber|zalo|snapchat|instagram|钉钉"
)
# ...and names that are ordinary words too ("line 2", "ig"): they need "id" or ":"/"@"/"是".
_WEAK = r"line|tg|wa|ig|insta|fb|facebook|messenger|signal|snap|薇|v|飞机"
_CONNECTOR = r"(?:\s*(?:id|号|号码|账号|account|no\.?|#|number))?\s*(?:is|是|为|:|=|@|-|>)?\s*"
_HANDLE = re.compile(
    rf"(?<![a-z0-9])(?:(?P<strong>{_STRONG})|(?P<weak>{_WEAK}))(?P<conn>{_CONNECTOR})"
    r"(?P<id>@?[a-z0-9][a-z0-9_.\-]{3,30}[a-z0-9])(?![a-z0-9_])"
)
_HANDLE_URL = re.compile(
    r"(?<![\w.\-])(?:wa\.me|api\.whatsapp\.com|chat\.whatsapp\.com|t\.me|telegram\.me|line\.me|lin\.ee|"
    r"m\.me|u\.wechat\.com|weixin\.qq\.com|qm\.qq\.com)(?:/[^\s<>\"'，。]*)?"
)
_SCHEME_BEFORE = re.compile(r"https?://$")
_EXPLICIT = re.compile(r"id|号|账号|account|is|是|为|:|=|@")
# Words that follow a messenger's name in everyday talk ("WeChat Pay", "QQ music").
_NOT_IDS = frozenset(
    {
        "pay",
        "payment",
        "group",
        "groups",
        "account",
        "official",
        "store",
        "shop",
        "music",
        "mail",
        "please",
        "first",
        "later",
        "today",
        "message",
        "messages",
        "chat",
        "call",
        "video",
        "support",
        "order",
        "orders",
    }
)


def find_handles(text: str) -> list[Found]:
    found: list[Found] = []
    if "." in text:
        for m in _HANDLE_URL.finditer(text):
            scheme = _SCHEME_BEFORE.search(text, max(0, m.start() - 8), m.start())
            found.append((scheme.start() if scheme else m.start(), m.end(), HANDLE))
    for m in _HANDLE.finditer(text):
        ident = m.group("id").lstrip("@")
        if ident in _NOT_IDS or (ident.isdigit() and len(ident) > 15):
            continue
        explicit = bool(_EXPLICIT.search(m.group("conn")))
        has_mark = any(c.isdigit() or c == "_" for c in ident)
        if m.group("strong") is not None and not (explicit or has_mark):
            continue
        if m.group("weak") is not None and not (explicit and (has_mark or len(ident) >= 6)):
            continue
        if not any(s <= m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), HANDLE))
    return found


# --- links ------------------------------------------------------------------------------------
# A bare domain needs a top-level domain that is not an everyday word ("thanks.it arrived").
_BARE_TLDS = (
    r"com|net|org|cn|io|shop|store|xyz|top|vip|cc|info|biz|app|link|ly|gl|site|online|club|"
    r"hk|tw|sg|uk|de|jp|ru|icu|tv|ws|su|cyou|buzz"
)
_URL_SCHEME = re.compile(r"(?:https?://|www[.。])[^\s<>\"'，。、；]+")
_URL_BARE = re.compile(
    rf"(?<![\w@.\-])[a-z0-9][a-z0-9\-]*(?:[.。][a-z0-9\-]+)*[.。](?:{_BARE_TLDS})(?![\w\-])"
    r"(?:[/?#][^\s<>\"'，。、；]*)?",
    re.ASCII,
)
_URL_SPELLED = re.compile(
    rf"(?<![\w.])[a-z0-9\-]{{2,}}\s*(?:[\[({{<]\s*dot\s*[\])}}>]|\s+dot\s+|点)\s*"
    rf"(?:{_BARE_TLDS})\b",
    re.ASCII,
)
# Each kind of link is looked for only when its mark is in the text at all.
_TLD_HINT = re.compile(rf"[.。](?:{_BARE_TLDS})(?![a-z0-9\-])")
_DOT_HINT = re.compile(r"\bdot\b|点")
_SPELLED_DOT = re.compile(r"\s*(?:[\[({<]\s*dot\s*[\])}>]|\s+dot\s+|点)\s*")


def _host(url: str) -> str:
    host = re.sub(r"^(?:https?://)", "", url).replace("。", ".")
    host = _SPELLED_DOT.sub(".", host)
    return re.split(r"[/?#:]", host, maxsplit=1)[0].strip(".")


def allowed(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def find_links(text: str, allow_domains: frozenset[str]) -> list[Found]:
    candidates: list[re.Match[str]] = []
    if "http" in text or "www" in text:
        candidates += _URL_SCHEME.finditer(text)
    if _TLD_HINT.search(text):
        candidates += _URL_BARE.finditer(text)
    if _DOT_HINT.search(text):
        candidates += _URL_SPELLED.finditer(text)
    out: list[Found] = []
    for m in sorted(candidates, key=lambda m: (m.start(), -m.end())):
        if out and m.start() < out[-1][1]:
            continue  # inside a link already found (the domain of a URL with its scheme)
        if not allowed(_host(m.group()), allow_domains):
            out.append((m.start(), m.end(), LINK))
    return out
