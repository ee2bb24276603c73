"""monitoring's writes, one module per concern: the audit log (``audit``), the screening of
outgoing replies (``screening``), the operators' security log's retention (``security_log``).

Import from here. ``monitoring.audit``, ``monitoring.screening`` and ``monitoring.security_log``
still re-export the same functions for code written before they moved.
"""

from monitoring.services.audit import audit_record
from monitoring.services.screening import ScreeningResult, screen_outgoing
from monitoring.services.security_log import security_events_prune

__all__ = ["ScreeningResult", "audit_record", "screen_outgoing", "security_events_prune"]
