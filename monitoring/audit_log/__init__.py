"""The audit log as supervisors read it: the log's filters and pages, its CSV, the per-agent
behaviour figures, and the request's address that services pass to ``audit_record``."""
