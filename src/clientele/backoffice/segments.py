"""The segments page: a segment expression (the CLI's, one parser) counted, previewed and exported
(consenting members only), masked by role."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse

from clientele.analytics.segments import VOCABULARY, SegmentError
from clientele.backoffice.masking import display_name, may_see_personal_data
from clientele.backoffice.models import PersonalDataView
from clientele.backoffice.views import _render
from clientele.engine import connect
from clientele.lake.reader import LakeTableMissing
from clientele.members.models import CustomerProfile, Member
from clientele.members.selectors import CONSENT_FIELD, contacts_for_customers, segment_customer_ids

PREVIEW = 20
#: what an export holds for a role without personal data: the member number and the channel's address
CAMPAIGN_FIELD = {"email": "email", "sms": "phone", "post": "postal_code"}


class SegmentForm(forms.Form):
    expression = forms.CharField(max_length=2000, widget=forms.TextInput(attrs={"size": 90}),
                                 help_text='e.g. pyramid=VIP OR (rfm=champions AND NOT at_risk)')
    channel = forms.ChoiceField(choices=[(c, c) for c in CONSENT_FIELD], initial="email",
                                help_text="Exports hold the members who consent to marketing on this channel.")

    def clean_expression(self) -> str:
        text = self.cleaned_data["expression"]
        try:
            self.customer_ids = segment_customer_ids(connect("duckdb"), text)
        except (SegmentError, LakeTableMissing) as problem:
            raise forms.ValidationError(str(problem)) from None
        return text


@dataclass
class Counted:
    customers: int
    consenting: int
    preview: list[dict]


def _count(form: SegmentForm, user) -> Counted:
    ids = form.customer_ids
    consenting = Member.objects.filter(customer_id__in=ids, status=Member.Status.ACTIVE,
                                       **{CONSENT_FIELD[form.cleaned_data["channel"]]: True})
    unmasked = may_see_personal_data(user)
    first = Member.objects.filter(customer_id__in=ids[:PREVIEW]).order_by("customer_id")
    profiles = {p.member_id: p for p in CustomerProfile.objects.filter(member__in=first)}
    preview = [{"member": m, "name": display_name(m, unmasked), "profile": profiles.get(m.pk)} for m in first]
    return Counted(len(ids), consenting.count(), preview)


@login_required
@permission_required("backoffice.view_segments", raise_exception=True)
def segments_page(request):
    form = SegmentForm(request.GET or None)
    counted = _count(form, request.user) if form.is_valid() else None
    return _render(request, "backoffice/segments.html", {
        "form": form, "counted": counted, "vocabulary": VOCABULARY.describe(), "title": "Segments",
        "can_export": request.user.has_perm("backoffice.export_segment")})


@login_required
@permission_required("backoffice.export_segment", raise_exception=True)
def segment_export(request):
    """The segment's members who consent on the channel, as CSV: names and contacts for a role that
    sees personal data (each export written to the audit log), else the member number and the
    channel's address only, what a campaign needs."""
    form = SegmentForm(request.GET)
    if not form.is_valid():
        return segments_page(request)
    channel = form.cleaned_data["channel"]
    rows = contacts_for_customers(form.customer_ids, channel=channel)
    if may_see_personal_data(request.user):
        columns = ["customer_id", "first_name", "last_name", "email", "phone"]
        PersonalDataView.objects.bulk_create([
            PersonalDataView(user=request.user, username=request.user.get_username(), customer_id=row["customer_id"],
                             channel="segment export") for row in rows])
    else:
        columns = ["customer_id", CAMPAIGN_FIELD[channel]]
        rows = _campaign_rows(rows, channel)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{channel}.csv"'
    writer = csv.DictWriter(response, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return response


def _campaign_rows(rows: list[dict], channel: str) -> list[dict]:
    if channel != "post":
        return rows
    codes = dict(Member.objects.filter(customer_id__in=[r["customer_id"] for r in rows])
                 .values_list("customer_id", "postal_code"))
    return [{"customer_id": r["customer_id"], "postal_code": codes[r["customer_id"]]} for r in rows]
