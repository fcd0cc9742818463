"""The back office's view of what members wrote in the portal: their reviews, read only (the
bonus was credited with them; a review is answered, not edited)."""

from __future__ import annotations

from django.contrib import admin

from clientele.portal.models import Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["created_at", "product", "rating", "member"]
    list_filter = ["rating"]
    readonly_fields = ["member", "product", "rating", "text", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
