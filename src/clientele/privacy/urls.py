"""The data protection officer's pages, under /backoffice/privacy/."""

from django.urls import path

from clientele.privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.privacy_page, name="page"),
    path("export/", views.export_view, name="export"),
    path("erasures/", views.request_view, name="request"),
    path("erasures/<int:request_id>/approve/", views.approve_view, name="approve"),
]
