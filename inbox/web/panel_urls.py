"""The buyer panel's after-sales and orders fragments and the case page (``inbox/web/panel.py``),
under ``/inbox/`` beside the inbox's own pages (``inbox/web/urls.py``)."""

from django.urls import path

from inbox.web import panel

app_name = "panel"

urlpatterns = [
    path("c/<int:conversation_id>/cases/", panel.buyer_cases_fragment, name="buyer-cases"),
    path("c/<int:conversation_id>/orders/", panel.buyer_orders_fragment, name="buyer-orders"),
    path("cases/<int:case_id>/", panel.case_page, name="case"),
    path("cases/<int:case_id>/card/", panel.case_card, name="case-card"),
    path("cases/<int:case_id>/decide/", panel.case_decide, name="case-decide"),
]
