"""monitoring's reads scoped to the acting user. None yet: the audit and security logs are read
by operators in Django admin; the supervisors' pages of the next issues (violations, the audit
trail, SLA deadlines) put their selectors here."""
