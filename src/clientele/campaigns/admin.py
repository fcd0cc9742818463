"""The back office's campaign tables: campaigns (groups locked after launch), assignments and
contacts read-only (they change only through `campaigns.services`)."""

from __future__ import annotations

from django.contrib import admin, messages

from clientele.campaigns import services
from clientele.campaigns.errors import CampaignError
from clientele.campaigns.models import Assignment, Campaign, Contact
from clientele.loyalty.admin import ReadOnlyAdmin


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "status", "playbook", "goal_metric", "goal_target", "window_start", "window_end",
                    "holdout_share"]
    list_filter = ["status", "playbook", "goal_metric"]
    search_fields = ["name", "owner", "audience"]
    filter_horizontal = ["offers"]
    readonly_fields = ["status", "seed", "launched_at", "playbook"]
    actions = ["launch_campaigns"]

    def get_readonly_fields(self, request, obj=None):
        locked = list(services.LOCKED_AFTER_LAUNCH) if obj and obj.status != Campaign.Status.DRAFT else []
        return [*self.readonly_fields, *locked]

    def save_model(self, request, obj, form, change):
        """Every save through the services, so the same rules hold as in the API and the CLI."""
        values = {name: form.cleaned_data[name] for name in services.EDITABLE if name in form.cleaned_data}
        try:
            if change:
                services.update_campaign(obj.pk, **values)
            else:
                values["channels"] = tuple(values.get("channels") or ())
                obj.pk = services.create_campaign(services.CampaignIn(**values)).pk
        except CampaignError as error:
            self.message_user(request, f"{error.field}: {error.message}", messages.ERROR)

    def save_related(self, request, form, formsets, change):
        if form.instance.pk:
            form.instance = Campaign.objects.get(pk=form.instance.pk)
            if form.instance.status == Campaign.Status.DRAFT:
                form.instance.offers.set(form.cleaned_data.get("offers", []))

    @admin.action(description="Launch: draw the audience and its holdout")
    def launch_campaigns(self, request, queryset):
        for campaign in queryset:
            try:
                counts = services.launch(campaign.id)
                self.message_user(request, f"{campaign}: {counts['treated']:,} treated, {counts['holdout']:,} held out")
            except CampaignError as error:
                self.message_user(request, f"{campaign}: {error.message}", messages.ERROR)


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "customer_id", "group", "stratum", "joined", "assigned_at"]
    list_filter = ["group", "joined"]
    search_fields = ["customer_id"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "channel", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["channel", "status"]
