"""The facts of history stored before the metrics existed (``manage.py metrics_backfill``):
derived from the stored messages and cases by the hooks' own rules, for what came before the
shop's first fact (so nothing the hooks wrote is counted twice), then the days rebuilt.

Chat: walking each conversation's visible messages in time order, a buyer message opens a
request when none waits; the next answer of the shop (a person's, the robot's, a platform
notice other than a rating card) answers it. After-sales: a case that needed a decision counts
from its creation; it is answered at its last update when it moved on with a decision (not
closed without one), ended when closed without one, waiting while it still needs a decision.
(A case first seen already decided is counted as answered at its last update: the closest
the stored history gives.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, Min, OuterRef

from inbox.hooks import PLATFORM_ROLES, ROBOT_ROLES
from inbox.models import AfterSalesCase, AfterSalesDecision, CaseStage, Message, ShopAccount
from inbox.services.conversation_state import HUMAN_ROLES
from monitoring.metrics.facts import RATING_MESSAGE_TYPE, days_mark, local_day, shop_zone
from monitoring.models.metrics import FactState, MetricSubject, ResponseFact

BATCH = 2000
ANSWER_ROLES = frozenset((*HUMAN_ROLES, *ROBOT_ROLES, *PLATFORM_ROLES))


def _chat_requests(
    shop_id: int, before: datetime | None
) -> Iterator[tuple[int, datetime, datetime | None, int | None, bool]]:
    """(conversation, received, answered, author, automated) per request received before
    ``before`` (its answer may come after it)."""
    for request in _all_chat_requests(shop_id):
        if before is None or request[1] < before:
            yield request


def _all_chat_requests(
    shop_id: int,
) -> Iterator[tuple[int, datetime, datetime | None, int | None, bool]]:
    rows = Message.objects.filter(shop_account_id=shop_id, is_visible=True)
    current: int | None = None
    waiting: datetime | None = None
    for conv, at, role, type_, author in (
        rows.order_by("conversation_id", "sent_at", "id")
        .values_list("conversation_id", "sent_at", "sender_role", "type", "author_id")
        .iterator(chunk_size=BATCH)
    ):
        if conv != current:
            if waiting is not None and current is not None:
                yield current, waiting, None, None, False
            current, waiting = conv, None
        if role == "BUYER":
            waiting = waiting or at
        elif role in ANSWER_ROLES and type_ != RATING_MESSAGE_TYPE and waiting is not None:
            human = role in HUMAN_ROLES
            yield conv, waiting, at, author if human else None, not human
            waiting = None
    if waiting is not None and current is not None:
        yield current, waiting, None, None, False


def _fact(shop: ShopAccount, zone: ZoneInfo, **fields: object) -> ResponseFact:
    received = fields["received_at"]
    answered = fields.get("answered_at")
    assert isinstance(received, datetime)  # noqa: S101 - built here
    seconds = int((answered - received).total_seconds()) if isinstance(answered, datetime) else None
    return ResponseFact(
        organisation_id=shop.organisation_id,
        shop_account_id=shop.pk,
        local_date=local_day(received, zone),
        seconds=seconds,
        **fields,
    )


def _case_facts(shop: ShopAccount, zone: ZoneInfo, before: datetime | None) -> list[ResponseFact]:
    cases = AfterSalesCase.objects.filter(shop_account_id=shop.pk).annotate(
        decided=Exists(AfterSalesDecision.objects.filter(case_id=OuterRef("pk")))
    )
    if before is not None:
        cases = cases.filter(platform_created_at__lt=before)
    facts = []
    rows = cases.values_list("id", "stage", "platform_created_at", "platform_updated_at", "decided")
    for case_id, stage, created, updated, decided in rows.iterator(chunk_size=BATCH):
        if stage == CaseStage.NEEDS_DECISION:
            state, answered = FactState.OPEN, None
        elif stage == CaseStage.CLOSED and not decided:
            state, answered = FactState.ENDED, None
        else:
            state, answered = FactState.ANSWERED, max(updated, created)
        facts.append(
            _fact(
                shop,
                zone,
                subject=MetricSubject.AFTER_SALES,
                case_id=case_id,
                state=state,
                received_at=created,
                answered_at=answered,
            )
        )
    return facts


@transaction.atomic
def metrics_backfill(*, shop_account_id: int) -> int:
    """Write the facts of the shop's history before its first fact; returns how many. Run
    once per shop after upgrading (a second run finds the first fact and adds nothing older
    than it again: the cut-off is the earliest fact, so it adds nothing it wrote before)."""
    shop = ShopAccount.objects.select_for_update().get(pk=shop_account_id)
    zone = shop_zone(shop.pk)
    first = ResponseFact.objects.filter(shop_account_id=shop.pk).aggregate(t=Min("received_at"))
    before = first["t"]
    facts = [
        _fact(
            shop,
            zone,
            subject=MetricSubject.CHAT,
            conversation_id=conv,
            state=FactState.ANSWERED if answered else FactState.OPEN,
            received_at=received,
            answered_at=answered,
            agent_id=author,
            automated=automated,
        )
        for conv, received, answered, author, automated in _chat_requests(shop.pk, before)
    ]
    facts += _case_facts(shop, zone, before)
    ResponseFact.objects.bulk_create(facts, batch_size=BATCH, ignore_conflicts=True)
    days_mark(shop.pk, {f.local_date for f in facts})
    return len(facts)
