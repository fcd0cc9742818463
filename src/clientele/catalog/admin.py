"""The catalogue in the back office: searchable, so pickers find a product among ~100,000."""

from django.contrib import admin

from clientele.catalog.models import Product, Store


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["product_id", "department", "category", "subcategory", "brand_type", "package_size"]
    list_filter = ["brand_type", "department"]
    search_fields = ["=product_id", "category", "subcategory"]
    show_full_result_count = False  # no count(*) of the whole catalogue on every search


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["store_id", "name", "city", "timezone"]
    search_fields = ["=store_id", "name", "city"]
