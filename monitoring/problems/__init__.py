"""The problem log (issue 17): issue types and SKUs of resolved conversations and closed cases
(``suggest``, ``services``), the weekly report (``report``, ``mail``) and trend alerts
(``trends``). docs/problem-log.md says what was chosen and why."""
