"""TikTok Shop: importing this package registers its adapter as ``tiktok_shop``."""

from inbox.platforms.base import register
from inbox.platforms.tiktok_shop.adapter import TikTokShopAdapter, TikTokShopApi

register("tiktok_shop", TikTokShopAdapter)

__all__ = ["TikTokShopAdapter", "TikTokShopApi"]
