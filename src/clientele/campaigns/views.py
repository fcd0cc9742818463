"""The campaign pages: the campaigns and the playbooks one click away, one campaign with its groups,
contacts and measurement (lift with intervals, ROI, intent-to-treat said on the page). Thin: every
change is one `campaigns.services` call; a refusal is shown as the page's error."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clientele.backoffice.views import _render
from clientele.campaigns import services
from clientele.campaigns.errors import CampaignError
from clientele.campaigns.measurement import measure_campaign
from clientele.campaigns.models import Campaign
from clientele.campaigns.playbooks import PLAYBOOKS
from clientele.lake.reader import LakeTableMissing

ACTIONS = {
    "launch": lambda campaign_id: services.launch(campaign_id),
    "send-email": lambda campaign_id: services.send(campaign_id, "email"),
    "send-sms": lambda campaign_id: services.send(campaign_id, "sms"),
    "trigger": lambda campaign_id: services.add_triggered_members(campaign_id),
    "end": lambda campaign_id: services.end_campaign(campaign_id),
}


class AdjustForm(forms.Form):
    """What a marketer adjusts on a playbook's draft (the rest through the API or the admin)."""

    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), required=False)
    window_start = forms.DateField()
    window_end = forms.DateField()
    holdout_share = forms.DecimalField(min_value=0, max_value=0.5, decimal_places=3,
                                       help_text="0.1 = 10% kept out, never contacted")
    fixed_cost = forms.DecimalField(min_value=0, decimal_places=2)
    cost_per_contact = forms.DecimalField(min_value=0, decimal_places=4)


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request):
    campaigns = [(c, services.group_counts(c)) for c in Campaign.objects.all()]
    return _render(request, "campaigns/list.html", {"campaigns": campaigns, "playbooks": PLAYBOOKS.values(),
                                                   "title": "Campaigns"})


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def past_campaigns(request):
    """The Complete Journey's own campaigns: redemption rates and, labelled observational, the
    targeted households' spend against matched untargeted households."""
    from clientele.campaigns.past import past_campaign_rows

    try:
        past, problem = past_campaign_rows(), None
    except LakeTableMissing as error:
        past, problem = {"rows": [], "computed_at": None}, str(error)
    for row in past["rows"]:
        row["rate_text"] = "-" if row["redemption_rate"] is None else (
            f"{row['redemption_rate']:.1%} ({row['redemption_low']:.1%} to {row['redemption_high']:.1%})")
    return _render(request, "campaigns/past.html", {"rows": past["rows"], "computed_at": past["computed_at"],
                                                   "problem": problem, "title": "Past campaigns"})


@login_required
@require_POST
@permission_required("campaigns.add_campaign", raise_exception=True)
def from_playbook(request):
    try:
        start = date.fromisoformat(request.POST["window_start"]) if request.POST.get("window_start") else None
        campaign = services.create_from_playbook(request.POST.get("playbook", ""), request.user.get_username(), start)
    except ValueError:
        messages.error(request, f"window start {request.POST.get('window_start')!r} is not a date YYYY-MM-DD")
        return redirect("campaigns:list")
    except CampaignError as error:
        messages.error(request, error.message)
        return redirect("campaigns:list")
    messages.success(request, f"Draft campaign {campaign.id} created from the playbook: adjust it, then launch")
    return redirect("campaigns:detail", campaign.id)


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_page(request, campaign_id: int):
    try:
        campaign = services.get_campaign(campaign_id)
    except CampaignError as error:
        return _render(request, "backoffice/403.html", {"reason": error.message, "title": "No such campaign"}, 404)
    measurement = problem = None
    if campaign.status != Campaign.Status.DRAFT:
        try:
            measurement = measure_campaign(campaign.id)
        except (CampaignError, LakeTableMissing) as error:
            problem = str(error)
    return _render(request, "campaigns/detail.html", {
        "campaign": campaign, "groups": services.group_counts(campaign), "contacts": services.contact_counts(campaign),
        "measurement": measurement, "problem": problem, "title": campaign.name,
        "can_change": request.user.has_perm("campaigns.change_campaign"),
        "adjust": AdjustForm(initial={name: getattr(campaign, name) for name in AdjustForm.base_fields})})


@login_required
@require_POST
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_adjust(request, campaign_id: int):
    form = AdjustForm(request.POST)
    if not form.is_valid():
        field, problems = next(iter(form.errors.items()))
        messages.error(request, f"{field}: {problems[0]}")
    else:
        try:
            services.update_campaign(campaign_id, **form.cleaned_data)
            messages.success(request, "Campaign adjusted")
        except CampaignError as error:
            messages.error(request, f"{error.field}: {error.message}")
    return redirect("campaigns:detail", campaign_id)


@login_required
@require_POST
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_action(request, campaign_id: int, action: str):
    if action not in ACTIONS:
        messages.error(request, f"no action {action!r}")
    else:
        try:
            ACTIONS[action](campaign_id)
            messages.success(request, f"{action.replace('-', ' ')}: done")
        except CampaignError as error:
            messages.error(request, error.message)
    return redirect("campaigns:detail", campaign_id)
