"""The campaign pages of the back office, under /backoffice/campaigns/."""

from django.urls import path

from clientele.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("from-playbook/", views.from_playbook, name="from_playbook"),
    path("past/", views.past_campaigns, name="past"),
    path("<int:campaign_id>/", views.campaign_page, name="detail"),
    path("<int:campaign_id>/adjust/", views.campaign_adjust, name="adjust"),
    path("<int:campaign_id>/<str:action>/", views.campaign_action, name="action"),
]
