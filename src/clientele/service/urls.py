"""The survey's public page: one link per invitation, /survey/<token>."""

from django.urls import path

from clientele.service import views

app_name = "survey"
urlpatterns = [path("<str:token>", views.survey_form, name="survey-form")]
