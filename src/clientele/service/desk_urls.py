"""The service desk's back-office pages under /service/."""

from django.urls import path

from clientele.service import desk_views

app_name = "service"
urlpatterns = [
    path("complaints/", desk_views.complaint_queue, name="queue"),
    path("complaints/new/", desk_views.new_complaint, name="new_complaint"),
    path("complaints/<int:complaint_id>/", desk_views.complaint_page, name="complaint"),
]
