"""The identity pages of the back office, under /backoffice/identity/."""

from django.urls import path

from clientele.identity import views

app_name = "identity"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("pairs/<int:pair_id>/", views.pair_page, name="pair"),
    path("pairs/<int:pair_id>/decide/", views.decide, name="decide"),
    path("quality/", views.quality_page, name="quality"),
    path("merge/", views.merge_page, name="merge_page"),
    path("merge/do/", views.merge, name="merge"),
    path("merges/<int:merge_id>/undo/", views.undo, name="undo"),
]
