"""The back office for marketers: offers (versioned), manufacturer accounts, value sizing, lists."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from clientele.offers import lists, services
from clientele.offers.errors import OfferError
from clientele.offers.models import (ManufacturerAccount, ManufacturerLogin, Offer, OfferRedemption, ShoppingList,
                                     ValueSizing)


@admin.register(ManufacturerAccount)
class ManufacturerAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "manufacturer_id", "contact_email"]
    search_fields = ["name", "manufacturer_id"]


@admin.register(ManufacturerLogin)
class ManufacturerLoginAdmin(admin.ModelAdmin):
    """Which back-office user signs in for which manufacturer (decision 0046)."""

    list_display = ["user", "account"]
    autocomplete_fields = ["account"]


@admin.register(Offer)
class OfferAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "target", "benefit", "funder", "valid_from", "valid_until", "active", "version",
                    "given"]
    list_filter = ["active", "target", "benefit", "eligibility", "funder"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["funder"]
    raw_id_fields = ["products", "audience"]
    readonly_fields = ["version", "given"]
    history_list_display = ["version", "active", "amount", "percent", "budget_money", "budget_count"]
    fieldsets = [
        (None, {"fields": ["code", "name", "active", "version", "given"]}),
        ("Applies to", {"fields": ["target", "products", "department", "category", "manufacturer_id", "brand_type",
                                   "min_spend"]}),
        ("Gives", {"fields": ["benefit", "amount", "percent", "buy_quantity", "get_quantity", "bonus_points",
                              "multiplier"]}),
        ("Funding and budget", {"fields": ["funder", "budget_money", "budget_count", "per_member_limit"]}),
        ("When and to whom", {"fields": ["valid_from", "valid_until", "eligibility", "segment", "audience",
                                         "requires_activation", "stackable", "precedence"]}),
    ]

    @admin.display(description="given (money / count)")
    def given(self, offer: Offer) -> str:
        spend = getattr(offer, "spend", None)
        return f"{spend.given_money} / {spend.given_count}" if spend else "0 / 0"

    def save_model(self, request, obj, form, change):
        """Saved in `save_related`, with its products and audience, as one version."""

    def save_related(self, request, form, formsets, change):
        """Through the service: one new version with the products and audience, the budget's limits."""
        try:
            services.save_offer(form.instance, product_ids=[p.pk for p in form.cleaned_data["products"]],
                                audience=[m.customer_id for m in form.cleaned_data["audience"]],
                                changed_by=request.user)
        except OfferError as error:  # a budget that tills used meanwhile: said, not a 500
            messages.error(request, error.message)


@admin.register(ValueSizing)
class ValueSizingAdmin(SimpleHistoryAdmin):
    list_display = ["pyramid_level", "factor", "max_list_value"]


@admin.register(OfferRedemption)
class OfferRedemptionAdmin(admin.ModelAdmin):
    list_display = ["redeemed_at", "offer", "kind", "funder", "discount", "bonus_points", "basket"]
    list_filter = ["kind", "funder"]
    raw_id_fields = ["offer", "member", "basket", "shopping_list"]

    def has_change_permission(self, request, obj=None):
        return False  # redemptions are billing records: written by the till, never edited

    def has_add_permission(self, request):
        return False


@admin.register(ShoppingList)
class ShoppingListAdmin(admin.ModelAdmin):
    list_display = ["number", "member", "status", "valid_from", "valid_until", "pyramid_level", "offers_value"]
    list_filter = ["status", "pyramid_level"]
    search_fields = ["number", "member__customer_id"]
    raw_id_fields = ["member"]

    def has_change_permission(self, request, obj=None):
        return False  # generated nightly; printed as it is

    def get_urls(self):
        printable = path("<str:number>/print/", self.admin_site.admin_view(self.print_view),
                         name="offers_shoppinglist_print")
        return [printable, *super().get_urls()]

    def print_view(self, request, number: str):
        """The print-ready page of one list (member name, items by department, offers, barcode)."""
        if not request.user.has_perm("backoffice.view_customer_360"):  # a manufacturer's login is staff too
            raise PermissionDenied("a member's shopping list is for the staff who may see members")
        return HttpResponse(lists.printable_html(lists.find_list(number)))
