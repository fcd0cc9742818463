"""The member portal's pages (/portal/): made for a phone, thin (each view calls one portal service
and shows its answer or its refusal). The session holds only the portal session's token; the member
is always the signed-in one, never named by the URL, so no page can show another member's data."""

from __future__ import annotations

import uuid
from datetime import date
from functools import wraps

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clientele.config import settings
from clientele.errors import RequestRefused
from clientele.portal import account, errors, feedback, profile, shopping, signin
from clientele.privacy.errors import PrivacyError

TOKEN, CHALLENGE, SENT_TO = "portal_token", "portal_challenge", "portal_sent_to"
#: The session's challenges of the new e-mail or phone waiting for their code: {field: challenge}.
CONFIRMING = "portal_confirming"
CONTACT_LABELS = {"email": "e-mail address", "phone": "phone number"}
CONSENT_LABELS = {("profiling", ""): "Personal offers from my purchases", ("marketing", "email"): "News and offers by e-mail",
                  ("marketing", "sms"): "News and offers by SMS", ("marketing", "post"): "News and offers by post"}


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def member_page(view):
    """The view for the signed-in member (`request.member`); the sign-in page otherwise."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            request.member = signin.signed_in_member(request.session.get(TOKEN))
        except errors.NotSignedIn as refused:
            if request.session.get(TOKEN):
                request.session.flush()
                messages.info(request, refused.message)
            return redirect("portal:sign-in")
        return view(request, *args, **kwargs)
    return wrapped


def sign_in(request):
    """GET: the form for a card number, e-mail or phone; POST: send the code, then ask for it."""
    if request.method == "POST":
        try:
            challenge = signin.request_code(request.POST.get("identifier", ""), _address(request))
        except errors.PortalError as refused:
            return render(request, "portal/sign_in.html", {"problem": refused.message}, status=refused.status)
        request.session[CHALLENGE], request.session[SENT_TO] = challenge.challenge, challenge.sent_to
        return redirect("portal:code")
    return render(request, "portal/sign_in.html")


def code(request):
    """GET: the form for the code received; POST: check it and open the member's session."""
    challenge = request.session.get(CHALLENGE)
    if not challenge:
        return redirect("portal:sign-in")
    context = {"sent_to": request.session.get(SENT_TO, ""), "minutes": settings().portal_code_minutes}
    if request.method == "POST":
        try:
            token = signin.verify_code(challenge, request.POST.get("code", ""), _address(request))
        except errors.PortalError as refused:
            return render(request, "portal/code.html", context | {"problem": refused.message}, status=refused.status)
        request.session.cycle_key()  # a new session id once signed in: none fixed beforehand survives
        request.session.pop(CHALLENGE, None)
        request.session[TOKEN] = token
        request.session.set_expiry(settings().portal_session_minutes * 60)
        return redirect("portal:account")
    return render(request, "portal/code.html", context)


@require_POST
def sign_out(request):
    signin.sign_out(request.session.get(TOKEN))
    request.session.flush()
    return redirect("portal:sign-in")


@member_page
def account_page(request):
    # each reward's button carries an id of its own: a double click redeems once
    return render(request, "portal/account.html", {"account": account.account_summary(request.member), "tab": "account",
                                                   "redemption_id": uuid.uuid4().hex})


@require_POST
@member_page
def redeem_reward(request):
    try:
        redeemed = account.redeem(request.member, request.POST.get("reward_code", ""),
                                  request.POST.get("redemption_id", ""))
    except RequestRefused as refused:
        _refusal_shown(request, refused)
    else:
        messages.success(request, f"{redeemed['reward']} is yours: show voucher {redeemed['voucher']} at the till")
    return redirect("portal:account")


@member_page
def list_page(request):
    context = {"list": shopping.current_list(request.member), "offers": shopping.offers_to_activate(request.member),
               "saved": shopping.saved(request.member), "tab": "list"}
    return render(request, "portal/list.html", context)


def _refusal_shown(request, refused: Exception) -> None:
    messages.error(request, refused.message if isinstance(refused, RequestRefused) else str(refused))


@require_POST
@member_page
def activate_offer(request, code: str):
    try:
        activated = shopping.activate(request.member, code)
    except RequestRefused as refused:
        _refusal_shown(request, refused)
    else:
        messages.success(request, "Offer activated: it applies at the till" if activated else "Already activated")
    return redirect("portal:list")


def _profile_context(request) -> dict:
    member = request.member
    consents = [state | {"label": CONSENT_LABELS[(state["purpose"], state["channel"])],
                         "key": f"{state['purpose']}-{state['channel'] or 'any'}"} for state in profile.consents(member)]
    confirming = request.session.get(CONFIRMING, {})
    awaiting = [waiting | {"label": CONTACT_LABELS[waiting["field"]]} for waiting in profile.awaiting_confirmation(member)
                if waiting["field"] in confirming]
    return {"member": member, "missing": profile.missing_fields(member), "consents": consents, "awaiting": awaiting,
            "erasure": profile.erasure_state(member), "tab": "profile"}


def _profile_saved(request, saved: profile.ProfileSaved, what: str) -> None:
    if saved.to_confirm:
        request.session[CONFIRMING] = request.session.get(CONFIRMING, {}) | {
            sent.field: sent.challenge for sent in saved.to_confirm}
        messages.info(request, "We sent a code to your new " + " and ".join(
            CONTACT_LABELS[sent.field] for sent in saved.to_confirm) + ": type it below to confirm it")
    if saved.bonus_points:
        messages.success(request, f"Profile complete: {saved.bonus_points} bonus points credited")
    elif saved.changed or not saved.to_confirm:
        messages.success(request, what if saved.changed else "Nothing changed")


@member_page
def profile_page(request):
    if request.method == "POST":
        changes = {name: request.POST.get(name, "") for name in profile.PROFILE_FIELDS if name in request.POST}
        if "birth_date" in changes:
            try:
                changes["birth_date"] = date.fromisoformat(changes["birth_date"]) if changes["birth_date"] else None
            except ValueError:
                changes["birth_date"] = changes["birth_date"]  # refused by the service, naming the field
        try:
            saved = profile.update_profile(request.member, changes, _address(request))
        except errors.PortalError as refused:
            return render(request, "portal/profile.html", _profile_context(request) | {
                "problem": refused.message, "problem_field": refused.field}, status=refused.status)
        _profile_saved(request, saved, "Profile saved")
        return redirect("portal:profile")
    return render(request, "portal/profile.html", _profile_context(request))


@require_POST
@member_page
def confirm_contact(request):
    """The code sent to the new e-mail or phone (the field's challenge kept in the session)."""
    field = request.POST.get("field", "")
    confirming = request.session.get(CONFIRMING, {})
    try:
        saved = profile.confirm_contact(request.member, confirming.get(field, ""), request.POST.get("code", ""),
                                        _address(request))
    except errors.PortalError as refused:
        return render(request, "portal/profile.html", _profile_context(request) | {
            "problem": refused.message, "problem_field": f"confirm-{field}"}, status=refused.status)
    request.session[CONFIRMING] = {name: challenge for name, challenge in confirming.items() if name != field}
    _profile_saved(request, saved, f"Your new {CONTACT_LABELS.get(field, 'contact')} is confirmed")
    return redirect("portal:profile")


@require_POST
@member_page
def consent(request):
    purpose, _, channel = request.POST.get("consent", "").partition("-")
    try:
        profile.change_consent(request.member, purpose, "" if channel == "any" else channel,
                               request.POST.get("granted") == "yes")
    except PrivacyError as refused:
        _refusal_shown(request, refused)
    else:
        messages.success(request, "Your choice is recorded")
    return redirect("portal:profile")


@require_POST
@member_page
def erasure(request):
    try:
        profile.ask_erasure(request.member, request.POST.get("reason", ""))
    except PrivacyError as refused:
        _refusal_shown(request, refused)
    else:
        messages.success(request, "Your request is with our data protection officer")
    return redirect("portal:profile")


@require_POST
@member_page
def export(request):
    path = profile.export_own_data(request.member)
    return FileResponse(path.open("rb"), as_attachment=True, filename="my-data.zip", content_type="application/zip")


def _feedback_context(member) -> dict:
    return {"reviews": feedback.reviews(member), "complaints": feedback.complaints(member),
            "causes": feedback.complaint_causes(), "surveys": feedback.open_surveys(member),
            "referral_code": feedback.referral_code(member), "severities": feedback.MEMBER_SEVERITIES,
            "tab": "feedback"}


@member_page
def feedback_page(request):
    return render(request, "portal/feedback.html", _feedback_context(request.member))


def _refused_feedback(request, refused: errors.PortalError):
    return render(request, "portal/feedback.html", _feedback_context(request.member) | {
        "problem": refused.message, "problem_field": refused.field, "form": request.POST}, status=refused.status)


@require_POST
@member_page
def review(request):
    rating = request.POST.get("rating", "")
    product = request.POST.get("product_id", "")
    try:
        if not product.strip().isdigit():
            raise errors.InvalidFeedback("product_id: type the product's number from the shelf label", field="product_id")
        _, points = feedback.write_review(request.member, int(product), int(rating) if rating.isdigit() else 0,
                                          request.POST.get("text", ""))
    except errors.PortalError as refused:
        return _refused_feedback(request, refused)
    messages.success(request, "Thank you for your review" + (f": {points} bonus points credited" if points else ""))
    return redirect("portal:feedback")


@require_POST
@member_page
def complaint(request):
    answers = {name: request.POST.get(name, "") for name in (
        "cause", "severity", "what_happened", "how_it_happened", "why_unhappy", "served_by", "wanted_resolution",
        "other_cause")}
    try:
        feedback.make_complaint(request.member, answers)
    except errors.PortalError as refused:
        return _refused_feedback(request, refused)
    messages.success(request, "Your complaint is recorded: our service desk will answer you")
    return redirect("portal:feedback")


@require_POST
@member_page
def referred(request):
    try:
        feedback.use_referral_code(request.member, request.POST.get("code", ""))
    except errors.PortalError as refused:
        return _refused_feedback(request, refused)
    messages.success(request, "Thank you: your friend earns a bonus at your first shop")
    return redirect("portal:feedback")


@member_page
def review_detail(request, review_id: int):
    try:
        shown = feedback.own_review(request.member, review_id)
    except errors.NotFound as refused:
        return render(request, "portal/not_found.html", {"problem": refused.message}, status=404)
    return render(request, "portal/review.html", {"review": shown, "tab": "feedback"})


@member_page
def complaint_detail(request, complaint_id: int):
    try:
        shown = feedback.own_complaint(request.member, complaint_id)
    except errors.NotFound as refused:
        return render(request, "portal/not_found.html", {"problem": refused.message}, status=404)
    return render(request, "portal/complaint.html", {"complaint": shown, "tab": "feedback"})
