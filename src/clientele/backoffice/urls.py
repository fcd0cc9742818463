"""The back office's pages under /backoffice/."""

from django.urls import path

from clientele.backoffice import dashboard_views, segments, views

app_name = "backoffice"

urlpatterns = [
    path("", views.home, name="home"),
    path("members/", views.search, name="search"),
    path("members/<int:customer_id>/", views.customer_360, name="customer_360"),
    path("members/<int:customer_id>/baskets/<str:basket_id>/", views.lake_basket, name="lake_basket"),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/<str:table>.csv", dashboard_views.dashboard_csv, name="dashboard_csv"),
    path("segments/", segments.segments_page, name="segments"),
    path("segments/export.csv", segments.segment_export, name="segment_export"),
    path("audit-log/", views.audit_log, name="audit_log"),
]
