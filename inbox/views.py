"""The platforms' webhook endpoint through Django's URLconf (WSGI, the test client); under ASGI
``inbox.ingress.WebhookIngress`` answers the same path before Django does."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inbox.ingress import WebhookAnswer, webhook_answer, webhook_too_large


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, platform: str) -> HttpResponse:
    length = int(request.headers.get("Content-Length") or 0)
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return _response(webhook_too_large(platform, length))
    return _response(webhook_answer(platform, request.headers, request.body))


def _response(answer: WebhookAnswer) -> HttpResponse:
    response: HttpResponse
    if answer.body is None:
        response = HttpResponse(status=answer.status)
    else:
        response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response
