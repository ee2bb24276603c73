"""The after-sales rules pages, under /inbox/rules/ (names in the ``inbox`` namespace)."""

from django.urls import path

from inbox.web import rules

urlpatterns = [
    path("", rules.rule_list, name="rules"),
    path("new/", rules.rule_new, name="rule-new"),
    path("compensations/", rules.compensations_page, name="compensations"),
    path("<int:rule_id>/", rules.rule_page, name="rule"),
    path("<int:rule_id>/edit/", rules.rule_edit, name="rule-edit"),
    path("<int:rule_id>/dry-run/", rules.rule_dry_run_page, name="rule-dry-run"),
    path("<int:rule_id>/enable/", rules.rule_enable_page, name="rule-enable"),
    path("<int:rule_id>/disable/", rules.rule_disable_page, name="rule-disable"),
]
