"""A buyer's data on request (PIPL, GDPR; docs/customer-data.md): everything held about one
buyer across the organisation, exported (``customer_export``), and erased
(``customer_erase``). Who may: ``access``."""

from inbox.services.buyer_data.access import may_erase, may_export
from inbox.services.buyer_data.erase import customer_erase
from inbox.services.buyer_data.export import customer_export

__all__ = ["customer_erase", "customer_export", "may_erase", "may_export"]
