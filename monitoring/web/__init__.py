"""monitoring's pages: the SLA settings (policies, calendars, alert channels), the bell and the
supervisors' at-risk view."""
