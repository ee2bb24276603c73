"""Automatic after-sales rules (issue 17): conditions and their evaluation
(``conditions``), the dry run (``dry_run``), editing (``editing``), applying them to cases
(``apply``) and the compensation suggestions (``compensation``). docs/after-sales-rules.md
describes the choices."""
