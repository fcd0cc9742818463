"""Configuration pages that scale: the earning-rule form picks a product or a store by search
(autocomplete) and its category and department from the catalogue; the audit log read-only.

The earning rule's admin is loyalty's, extended here (loyalty's till code is being reworked)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from clientele.backoffice.models import PersonalDataView, UserToken
from clientele.catalog.models import Product
from clientele.loyalty.admin import EarningRuleAdmin, ReadOnlyAdmin
from clientele.loyalty.models import EarningRule


def catalogue_choices(field: str) -> list[tuple[str, str]]:
    """The catalogue's distinct values of `field` (department or category), as form choices with
    'any' first: a rule can only name what the catalogue holds."""
    values = (Product.objects.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct())
    return [("", "any")] + [(value, value) for value in values]


class EarningRuleForm(forms.ModelForm):
    department = forms.ChoiceField(required=False, choices=lambda: catalogue_choices("department"))
    category = forms.ChoiceField(required=False, choices=lambda: catalogue_choices("category"))

    class Meta:
        model = EarningRule
        fields = "__all__"


class ScalingEarningRuleAdmin(EarningRuleAdmin):
    form = EarningRuleForm
    autocomplete_fields = ["product", "store"]


admin.site.site_header = admin.site.site_title = "Clientele back office"
admin.site.index_title = "Configuration"
admin.site.site_url = "/backoffice/"

admin.site.unregister(EarningRule)
admin.site.register(EarningRule, ScalingEarningRuleAdmin)


@admin.register(PersonalDataView)
class PersonalDataViewAdmin(ReadOnlyAdmin):
    """The audit log: read, never written or changed by hand."""

    list_display = ["viewed_at", "username", "customer_id", "channel"]
    search_fields = ["=customer_id", "username"]


@admin.register(UserToken)
class UserTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "revoked_at"]
    fields = ["prefix", "name", "user", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "name", "user", "created_at"]

    def has_add_permission(self, request):
        return False  # issued by `clientele backoffice issue-token`, shown once
