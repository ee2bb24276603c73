"""The after-sales rules API (supervisors and admins): rules, their dry runs, enabling and
disabling, their applications; the compensation suggestions, and those of one case (anyone
who may see the case). Thin: parse, call one service or selector, shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.models import (
    AfterSalesRule,
    CaseKind,
    CompensationKind,
    CompensationSuggestion,
    IssueType,
    RuleApplication,
    RuleDecision,
    RuleDryRun,
)
from inbox.selectors.aftersales import case_get
from inbox.selectors.rules import (
    compensation_for_case,
    compensation_list_for,
    issue_type_of,
    rule_applications,
    rule_dry_run_latest,
    rule_get_for_supervisor,
    rule_list_for,
)
from inbox.services.rules.compensation import compensation_create, compensation_update
from inbox.services.rules.dry_run import rule_dry_run
from inbox.services.rules.editing import rule_create, rule_disable, rule_enable, rule_update
from scrm.api import ServiceError


class RuleIn(serializers.Serializer):
    """A rule's fields (checked by the service: a bad one is a 400 naming it). Lists may also
    be given as text, one item per line or comma-separated. Empty conditions match anything."""

    name = serializers.CharField(max_length=120)
    position = serializers.IntegerField(required=False, min_value=0)
    shop_account_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=CaseKind.values), required=False
    )
    reason_codes = serializers.ListField(child=serializers.CharField(), required=False)
    reason_words = serializers.ListField(child=serializers.CharField(), required=False)
    amount_min = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    amount_max = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    currency = serializers.CharField(required=False, max_length=3)
    skus = serializers.ListField(child=serializers.CharField(), required=False)
    refunds_month_min = serializers.IntegerField(required=False, min_value=1)
    refunds_ever_min = serializers.IntegerField(required=False, min_value=1)
    decision = serializers.ChoiceField(choices=RuleDecision.values, required=False)
    reject_reason = serializers.CharField(required=False, max_length=128)
    assign_to = serializers.IntegerField(required=False, help_text="a person's user id")
    tag = serializers.CharField(required=False, max_length=50)
    quick_reply = serializers.IntegerField(required=False, help_text="a shared quick reply's id")
    note = serializers.CharField(required=False, max_length=2000)


class RuleOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    is_enabled = serializers.BooleanField()
    version = serializers.IntegerField()
    enabled_at = serializers.DateTimeField(allow_null=True)
    conditions = serializers.DictField()
    actions = serializers.DictField()
    updated_at = serializers.DateTimeField()


class DryRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    rule_id = serializers.IntegerField()
    rule_version = serializers.IntegerField()
    current = serializers.BooleanField(help_text="made for the rule's current version")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    scanned = serializers.IntegerField()
    matched = serializers.IntegerField()
    totals = serializers.DictField(child=serializers.CharField())
    cases = serializers.ListField(child=serializers.DictField())
    elapsed_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class EnableIn(serializers.Serializer):
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: you accept that a decision the rule takes cannot be taken back",
    )


class ApplicationOut(serializers.Serializer):
    id = serializers.IntegerField()
    rule_id = serializers.IntegerField()
    rule_version = serializers.IntegerField()
    case_id = serializers.IntegerField()
    platform_case_id = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["applied", "to_person"])
    actions = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    decision_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class CompensationIn(serializers.Serializer):
    issue_type = serializers.ChoiceField(choices=IssueType.values)
    kind = serializers.ChoiceField(choices=CompensationKind.values)
    title = serializers.CharField(max_length=120)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField(max_length=3)
    is_active = serializers.BooleanField(required=False)


class CompensationOut(serializers.Serializer):
    id = serializers.IntegerField()
    issue_type = serializers.ChoiceField(choices=IssueType.values)
    kind = serializers.ChoiceField(choices=CompensationKind.values)
    title = serializers.CharField()
    cost = serializers.CharField()
    currency = serializers.CharField()
    is_active = serializers.BooleanField()


class CaseCompensationOut(serializers.Serializer):
    issue_type = serializers.ChoiceField(choices=IssueType.values)
    suggestions = CompensationOut(many=True)


def _body(request: Request) -> Mapping[str, Any]:
    if not isinstance(request.data, Mapping):
        raise ServiceError("Send a JSON object.", code="invalid")
    return request.data


def rule_payload(rule: AfterSalesRule) -> dict[str, Any]:
    def money(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "id": rule.id,
        "name": rule.name,
        "position": rule.position,
        "is_enabled": rule.is_enabled,
        "version": rule.version,
        "enabled_at": rule.enabled_at,
        "conditions": {
            "shop_account_ids": rule.shop_account_ids,
            "kinds": rule.kinds,
            "reason_codes": rule.reason_codes,
            "reason_words": rule.reason_words,
            "amount_min": money(rule.amount_min),
            "amount_max": money(rule.amount_max),
            "currency": rule.currency,
            "skus": rule.skus,
            "refunds_month_min": rule.refunds_month_min,
            "refunds_ever_min": rule.refunds_ever_min,
        },
        "actions": {
            "decision": rule.decision,
            "reject_reason": rule.reject_reason,
            "assign_to": rule.assign_to_id,
            "tag": rule.tag,
            "quick_reply": rule.quick_reply_id,
            "note": rule.note,
        },
        "updated_at": rule.updated_at,
    }


def dry_run_payload(run: RuleDryRun, rule: AfterSalesRule) -> dict[str, Any]:
    return {
        "id": run.id,
        "rule_id": run.rule_id,
        "rule_version": run.rule_version,
        "current": run.rule_version == rule.version,
        "window_start": run.window_start,
        "window_end": run.window_end,
        "scanned": run.scanned,
        "matched": run.matched,
        "totals": run.totals,
        "cases": run.rows,
        "elapsed_ms": run.elapsed_ms,
        "created_at": run.created_at,
    }


def application_payload(row: RuleApplication) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule_id": row.rule_id,
        "rule_version": row.rule_version,
        "case_id": row.case_id,
        "platform_case_id": row.case.platform_case_id,
        "outcome": row.outcome,
        "actions": row.actions,
        "reason": row.reason,
        "decision_id": row.decision_id,
        "created_at": row.created_at,
    }


def compensation_payload(row: CompensationSuggestion) -> dict[str, Any]:
    return {
        "id": row.id,
        "issue_type": row.issue_type,
        "kind": row.kind,
        "title": row.title,
        "cost": str(row.cost),
        "currency": row.currency,
        "is_active": row.is_active,
    }


class RuleList(APIView):
    """Your organisation's after-sales rules, in the order they are tried (first match acts)."""

    @extend_schema(responses=RuleOut(many=True))
    def get(self, request: Request) -> Response:
        return Response([rule_payload(r) for r in rule_list_for(request.user)])

    @extend_schema(request=RuleIn, responses={201: RuleOut})
    def post(self, request: Request) -> Response:
        rule = rule_create(actor=request.user, data=_body(request))
        return Response(rule_payload(rule), status=status.HTTP_201_CREATED)


class RuleDetail(APIView):
    @extend_schema(responses=RuleOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(rule_payload(rule_get_for_supervisor(request.user, pk)))

    @extend_schema(request=RuleIn, responses=RuleOut)
    def put(self, request: Request, pk: int) -> Response:
        """Replace the rule's fields: a new version, disabled until dry-run and enabled again."""
        rule = rule_update(actor=request.user, rule_id=pk, data=_body(request))
        return Response(rule_payload(rule))


class RuleDryRunView(APIView):
    @extend_schema(responses={200: DryRunOut})
    def get(self, request: Request, pk: int) -> Response:
        """The rule's latest dry run (404 ``no_dry_run`` before the first)."""
        rule = rule_get_for_supervisor(request.user, pk)
        run = rule_dry_run_latest(rule)
        if run is None:
            raise ServiceError("No dry run yet.", code="no_dry_run", status_code=404)
        return Response(dry_run_payload(run, rule))

    @extend_schema(request=None, responses={201: DryRunOut})
    def post(self, request: Request, pk: int) -> Response:
        """Run the rule over the last 30 days: every case it would have acted on, and the
        refund total (the first 1,000 cases listed one by one)."""
        run = rule_dry_run(actor=request.user, rule_id=pk)
        return Response(dry_run_payload(run, run.rule), status=status.HTTP_201_CREATED)


class RuleEnable(APIView):
    @extend_schema(request=EnableIn, responses=RuleOut)
    def post(self, request: Request, pk: int) -> Response:
        """Enable: needs a dry run of this version (409 ``dry_run_required``) and
        ``confirm: true`` (400 ``confirm_required``): a decision cannot be taken back."""
        body = EnableIn(data=_body(request))
        body.is_valid(raise_exception=True)
        rule = rule_enable(actor=request.user, rule_id=pk, confirm=body.validated_data["confirm"])
        return Response(rule_payload(rule))


class RuleDisable(APIView):
    @extend_schema(request=None, responses=RuleOut)
    def post(self, request: Request, pk: int) -> Response:
        return Response(rule_payload(rule_disable(actor=request.user, rule_id=pk)))


class RuleApplicationList(APIView):
    """The cases the rule acted on (or left to a person), newest first (the latest 200)."""

    @extend_schema(responses=ApplicationOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        rule = rule_get_for_supervisor(request.user, pk)
        return Response([application_payload(a) for a in rule_applications(rule)])


class CompensationList(APIView):
    """The organisation's standard compensations per issue type (supervisors and admins)."""

    @extend_schema(responses=CompensationOut(many=True))
    def get(self, request: Request) -> Response:
        return Response([compensation_payload(c) for c in compensation_list_for(request.user)])

    @extend_schema(request=CompensationIn, responses={201: CompensationOut})
    def post(self, request: Request) -> Response:
        row = compensation_create(actor=request.user, data=_body(request))
        return Response(compensation_payload(row), status=status.HTTP_201_CREATED)


class CompensationDetail(APIView):
    @extend_schema(request=CompensationIn, responses=CompensationOut)
    def patch(self, request: Request, pk: int) -> Response:
        """Change a suggestion (all its fields), or switch it on or off (``is_active`` alone)."""
        row = compensation_update(actor=request.user, suggestion_id=pk, data=_body(request))
        return Response(compensation_payload(row))


class CaseCompensations(APIView):
    """The compensations suggested for a case you may see: its issue type's active ones."""

    @extend_schema(responses=CaseCompensationOut)
    def get(self, request: Request, pk: int) -> Response:
        case = case_get(request.user, pk)
        return Response(
            {
                "issue_type": issue_type_of(case.reason_code, case.buyer_reason or ""),
                "suggestions": [compensation_payload(c) for c in compensation_for_case(case)],
            }
        )
