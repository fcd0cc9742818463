from django.urls import path

from clientele.offers import views

app_name = "offers"
urlpatterns = [
    path("members/<int:customer_id>/list/", views.member_list, name="member_list"),
    path("manufacturer/report/", views.manufacturer_report, name="manufacturer_report"),
]
