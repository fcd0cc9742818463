"""Stores and products: the reference data every basket line points to."""

from django.db import models


class Store(models.Model):
    """A store of the chain (or the online shop), known by its number in the POS data."""

    store_id = models.BigIntegerField(primary_key=True, help_text="Store number used by the tills.")
    name = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, default="America/Chicago")
    opened_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["store_id"]

    def __str__(self) -> str:
        return self.name or f"Store {self.store_id}"


class Product(models.Model):
    """A product as the tills scan it, with its place in the merchandise hierarchy."""

    class BrandType(models.TextChoices):
        NATIONAL = "National", "National brand"
        PRIVATE = "Private", "Store brand"

    product_id = models.BigIntegerField(primary_key=True, help_text="Product number (UPC or SKU).")
    manufacturer_id = models.BigIntegerField(null=True, blank=True)
    department = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    subcategory = models.CharField(max_length=100, blank=True)
    brand_type = models.CharField(max_length=10, choices=BrandType.choices, default=BrandType.NATIONAL)
    package_size = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["product_id"]
        indexes = [models.Index(fields=["department", "category"])]

    def __str__(self) -> str:
        return f"{self.product_id} {self.category or self.department}".strip()
