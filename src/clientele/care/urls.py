"""Customer care's back-office pages under /backoffice/care/."""

from django.urls import path

from clientele.care import views

app_name = "care"
urlpatterns = [
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("events/", views.events, name="events"),
    path("cost/", views.cost, name="cost"),
]
