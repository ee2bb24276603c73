"""The quick-reply library's pages (``/quick-replies/``): quick replies, materials, import and
export, usage.

Everyone of an organisation may open them: supervisors and admins manage the organisation's
and teams' items, agents their personal ones and read the rest they may use. Each view parses
a plain form, calls one service or selector, and renders (no JavaScript). Who may do what is
decided in the selectors and services: outside one's reach is a 404, a change one may not make
a 403, a refused change the form again with the reasons (400).
"""

from templates_app.views.exchange import import_export, usage
from templates_app.views.materials import material_detail, material_list
from templates_app.views.quick_replies import quick_reply_edit, quick_reply_list, quick_reply_new

__all__ = [
    "import_export",
    "material_detail",
    "material_list",
    "quick_reply_edit",
    "quick_reply_list",
    "quick_reply_new",
    "usage",
]
