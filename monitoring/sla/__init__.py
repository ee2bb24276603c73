"""The SLA tracker (docs/sla.md): the calendar arithmetic (``calendar``), the policy a shop
follows and the due time it gives (``policies``), deadlines opening and closing with the
conversation's state and the case's stage (``deadlines``), the one-minute sweep that records
each alert once (``sweep``), who is told and how (``alerts``, ``channels``) and the same-day
digest (``digest``)."""
