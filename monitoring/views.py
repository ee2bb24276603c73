"""monitoring's pages. None yet: the supervisors' audit, violation and SLA pages go here."""
