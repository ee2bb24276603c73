"""Every write of quick replies, their usage and shared materials: transactional and audited
(``quick_replies``, ``usage``, ``materials``). Import from here.

Audit data holds ids and enumerated values only, never a body (it may carry personal data).
"""

from templates_app.services.materials import (
    IMAGE_SIGNATURES,
    material_archive,
    material_limits,
    material_link_create,
    material_unarchive,
    material_upload,
)
from templates_app.services.quick_replies import (
    EDITABLE,
    MAX_IMPORT_ROWS,
    quick_reply_archive,
    quick_reply_create,
    quick_reply_import,
    quick_reply_unarchive,
    quick_reply_update,
)
from templates_app.services.usage import (
    quick_reply_count_sent,
    quick_reply_render_for_send,
    quick_reply_use,
)

__all__ = [
    "EDITABLE",
    "IMAGE_SIGNATURES",
    "MAX_IMPORT_ROWS",
    "material_archive",
    "material_limits",
    "material_link_create",
    "material_unarchive",
    "material_upload",
    "quick_reply_archive",
    "quick_reply_count_sent",
    "quick_reply_create",
    "quick_reply_import",
    "quick_reply_render_for_send",
    "quick_reply_unarchive",
    "quick_reply_update",
    "quick_reply_use",
]
