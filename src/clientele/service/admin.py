"""The service desk in Django's admin: settings a manager changes, and read-only records (every
change of a complaint goes through `service.services`, so the admin does not edit them)."""

from django.contrib import admin

from clientele.loyalty.admin import ReadOnlyAdmin as RecordAdmin
from clientele.service import models


@admin.register(models.ComplaintCause)
class ComplaintCauseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active"]


@admin.register(models.ServiceLevel)
class ServiceLevelAdmin(admin.ModelAdmin):
    list_display = ["severity", "first_answer_hours", "resolution_hours"]


@admin.register(models.GoodwillLimit)
class GoodwillLimitAdmin(admin.ModelAdmin):
    list_display = ["role", "max_points"]


@admin.register(models.DeskSettings)
class DeskSettingsAdmin(admin.ModelAdmin):
    list_display = ["acceptable_churn_rate", "follow_up_days"]


class EventInline(admin.TabularInline):
    model = models.ComplaintEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "from_status", "to_status", "note"]


class CompensationInline(admin.TabularInline):
    model = models.Compensation
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "points", "amount", "note", "given_by", "approved_by", "ledger_key", "given_at"]


@admin.register(models.Complaint)
class ComplaintAdmin(RecordAdmin):
    list_display = ["id", "member", "status", "severity", "cause", "received_at", "resolution_due", "assigned_to"]
    list_filter = ["status", "severity", "cause", "channel"]
    search_fields = ["member__customer_id", "what_happened"]
    inlines = [EventInline, CompensationInline]


@admin.register(models.Survey)
class SurveyAdmin(RecordAdmin):
    list_display = ["code", "title", "opens_at", "closes_at", "weighting"]


@admin.register(models.ExitReason)
class ExitReasonAdmin(RecordAdmin):
    list_display = ["member", "reason", "source", "noted_at", "noted_by"]
    list_filter = ["reason", "source"]


@admin.register(models.WinBackList)
class WinBackListAdmin(RecordAdmin):
    list_display = ["name", "created_at", "created_by", "profiles_of"]
