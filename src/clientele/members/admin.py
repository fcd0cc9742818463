"""The back office's view of members and their cards."""

from django.contrib import admin

from clientele.members.models import Card, Member


class CardInline(admin.TabularInline):
    model = Card
    fk_name = "member"
    fields = ["barcode", "status", "issued_at", "blocked_at", "replaced_by"]
    readonly_fields = ["issued_at", "blocked_at", "replaced_by"]
    extra = 0


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "first_name", "last_name", "email", "phone", "status", "join_date"]
    list_filter = ["status"]
    search_fields = ["=customer_id", "last_name", "email", "phone", "cards__barcode"]
    inlines = [CardInline]


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ["barcode", "member", "status", "issued_at"]
    list_filter = ["status"]
    search_fields = ["=barcode"]
    raw_id_fields = ["member", "replaced_by"]
