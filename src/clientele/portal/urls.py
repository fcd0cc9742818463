"""The member portal's pages: /portal/ (no URL names a member; the session does)."""

from django.urls import path
from django.views.generic import RedirectView

from clientele.portal import views

app_name = "portal"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:account"), name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/code/", views.code, name="code"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("account/", views.account_page, name="account"),
    path("rewards/redeem/", views.redeem_reward, name="redeem"),
    path("list/", views.list_page, name="list"),
    path("offers/<slug:code>/activate/", views.activate_offer, name="activate"),
    path("profile/", views.profile_page, name="profile"),
    path("profile/confirm/", views.confirm_contact, name="confirm-contact"),
    path("profile/consent/", views.consent, name="consent"),
    path("profile/erasure/", views.erasure, name="erasure"),
    path("profile/export/", views.export, name="export"),
    path("feedback/", views.feedback_page, name="feedback"),
    path("feedback/review/", views.review, name="review"),
    path("feedback/complaint/", views.complaint, name="complaint"),
    path("feedback/referred/", views.referred, name="referred"),
    path("reviews/<int:review_id>/", views.review_detail, name="review-detail"),
    path("complaints/<int:complaint_id>/", views.complaint_detail, name="complaint-detail"),
]
