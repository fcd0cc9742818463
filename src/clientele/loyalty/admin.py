"""The back office's view of the programme: rules, tiers, rewards, keys; the ledger read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from clientele.loyalty import models
from clientele.loyalty.identity import hash_key, issue_api_key
from clientele.loyalty.rules import rule_versions_behind


@admin.register(models.Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "point_value", "return_window_days", "expiry_months", "negative_balance_policy",
                    "tier_grace_days"]


@admin.register(models.EarningRule)
class EarningRuleAdmin(SimpleHistoryAdmin):
    """Every saved change is a new version: "History" lists them with who, when and what changed."""

    list_display = ["name", "kind", "active", "points_per_unit", "multiplier", "bonus_points", "max_points",
                    "valid_from", "valid_until", "version"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]
    readonly_fields = ["version"]
    history_list_display = ["version", "active", "points_per_unit", "multiplier", "bonus_points", "max_points"]


@admin.register(models.Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "min_spend_12m", "min_visits_12m", "earning_multiplier"]


@admin.register(models.Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "points_price", "stock", "valid_from", "valid_until"]
    search_fields = ["code", "name"]


@admin.register(models.ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are listed and revoked here; a new key is shown once, when saved."""

    list_display = ["prefix", "name", "store", "created_at", "revoked_at"]
    list_filter = ["store"]
    fields = ["store", "name"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = issue_api_key(obj.store, obj.name)
        obj.pk, obj.prefix, obj.key_hash = key.pk, key.prefix, hash_key(raw)
        messages.warning(request, f"Give this key to the till now; it is not shown again: {raw}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"{revoked} keys revoked")


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger and what the tills recorded are evidence: readable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "amount", "available_from", "expires_on", "source", "actor"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "source", "account__member__customer_id"]
    readonly_fields = ["rules_behind"]

    @admin.display(description="Points by rule, as the rule was then")
    def rules_behind(self, entry: models.PointsEntry) -> str:
        def rule_cell(line: dict) -> str:
            if line["terms"] is None:
                return format_html("{}", line["rule"])
            history = reverse("admin:loyalty_earningrule_history", args=[line["rule_id"]])
            return format_html('<a href="{}">{} (version {})</a>', history, line["rule"], line["version"])

        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (rule_cell(line), line["points"], ", ".join(f"{k}={v}" for k, v in (line["terms"] or {}).items()
                                                         if v not in (None, "")))
            for line in rule_versions_behind(entry.explanation)))
        return format_html("<table><tr><th>rule</th><th>points</th><th>terms of that version</th></tr>{}</table>",
                           rows)


@admin.register(models.Basket)
class BasketAdmin(ReadOnlyAdmin):
    list_display = ["store", "till_id", "receipt_number", "transacted_at", "member", "total", "points_earned"]
    search_fields = ["receipt_number", "member__customer_id"]


@admin.register(models.TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["reviewed_on", "account", "from_tier", "to_tier", "reason"]
