"""The platforms' webhook endpoint: verify, store once, answer at once."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inbox.services.ingestion import WebhookRejected, webhook_receive
from scrm.api import error_response

logger = logging.getLogger(__name__)

# URL name → ShopAccount.platform
WEBHOOK_PLATFORMS = {"tiktok": "tiktok_shop"}


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, platform: str) -> HttpResponse:
    if platform not in WEBHOOK_PLATFORMS:
        return error_response("not_found", "Unknown platform.", 404)
    length = int(request.headers.get("Content-Length") or 0)
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        logger.warning("webhook from %s refused: body of %d bytes", platform, length)
        return error_response("too_large", "Body too large.", 413)
    try:
        receipt = webhook_receive(
            platform=WEBHOOK_PLATFORMS[platform], headers=request.headers, body=request.body
        )
    except WebhookRejected as exc:
        logger.warning("webhook from %s rejected: %s", platform, exc.code)
        return error_response(exc.code, exc.message, exc.status)
    # TikTok wants a fast 200 with an empty body; duplicates are acknowledged the same way.
    response = HttpResponse(status=200)
    response["X-SCRM-Event"] = str(receipt.event_id)
    return response
