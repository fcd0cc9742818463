"""The survey form a member opens from their invitation's link: a plain page that works on a phone.

Thin: the service checks the token and records the answer; a refusal is shown on the page."""

from __future__ import annotations

from django.shortcuts import render

from clientele.service import errors, services

SCORES = [(5, "Very satisfied"), (4, "Satisfied"), (3, "Neither"), (2, "Dissatisfied"), (1, "Very dissatisfied")]


def _score(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def survey_form(request, token: str):
    """GET: the form of the invitation's survey; POST: record the answer, or show the form again with
    each field's problem; a link that cannot be answered shows why."""
    try:
        invitation = services.open_invitation(token)
    except errors.ServiceError as refused:
        return render(request, "service/survey_closed.html", {"message": refused.message}, status=refused.status)
    attributes = list(invitation.survey.attributes.all())
    context = {"survey": invitation.survey, "attributes": attributes, "scores": SCORES, "problems": {},
               "chosen": {}}
    if request.method == "POST":
        ratings = {a.name: _score(request.POST.get(f"rating-{a.name}")) for a in attributes}
        overall = _score(request.POST.get("overall"))
        try:
            services.answer_survey(token, overall, {k: v for k, v in ratings.items() if v is not None})
        except errors.ServiceError as refused:
            context |= {"problems": refused.fields or {refused.field: refused.message},
                        "chosen": {**ratings, "overall": overall}}
            return render(request, "service/survey_form.html", context, status=refused.status)
        return render(request, "service/survey_thanks.html", {"survey": invitation.survey})
    return render(request, "service/survey_form.html", context)
