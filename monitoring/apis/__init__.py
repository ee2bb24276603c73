"""monitoring's REST endpoints for the sensitive-word monitor, violations and the audit log
(one module per part; the SLA tracker's are in monitoring/api.py)."""
