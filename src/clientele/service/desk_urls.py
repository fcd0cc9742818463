"""The service desk's back-office pages under /service/."""

from django.urls import path

from clientele.service import desk_reports, desk_views

app_name = "service"
urlpatterns = [
    path("complaints/", desk_views.complaint_queue, name="queue"),
    path("complaints/new/", desk_views.new_complaint, name="new_complaint"),
    path("complaints/<int:complaint_id>/", desk_views.complaint_page, name="complaint"),
    path("report/", desk_reports.complaint_report, name="report"),
    path("surveys/<slug:code>/", desk_reports.survey_results, name="survey_results"),
    path("win-back/<int:list_id>/", desk_reports.win_back, name="win_back"),
]
