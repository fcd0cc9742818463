"""Members (the customers), their cards, household demographics and nightly customer profiles.

A customer is a member of the programme; in the Complete Journey data it is the household.
`customer_id` is the same number in the lake and here.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper

from clientele.barcodes import is_valid_ean13


def validate_ean13(value: str) -> None:
    if not is_valid_ean13(value):
        raise ValidationError(f"{value!r} is not a valid EAN-13 barcode", code="invalid_barcode")


class Member(models.Model):
    """A customer enrolled in the loyalty programme."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"
        ERASED = "erased", "Erased (personal data removed)"

    customer_id = models.BigIntegerField(unique=True, help_text="Member number; the lake's customer_id.")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True, help_text="E.164, e.g. +13125550100.")
    birth_date = models.DateField(null=True, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    home_store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.SET_NULL)
    join_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    email_consent = models.BooleanField(default=False, help_text="May receive marketing e-mail.")
    sms_consent = models.BooleanField(default=False, help_text="May receive marketing SMS.")
    post_consent = models.BooleanField(default=False, help_text="May receive marketing by post.")
    profiling_consent = models.BooleanField(default=True, help_text="Purchases may be analysed for personal offers.")
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id"]
        # the back office finds a member by e-mail or name in any case (`email__iexact`,
        # `last_name__iexact`): these indexes answer it among millions of members
        indexes = [
            models.Index(Upper("email"), name="member_email_any_case"),
            models.Index(Upper("last_name"), Upper("first_name"), name="member_name_any_case"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name a cashier greets the member with."""
        name = f"{self.first_name} {self.last_name}".strip()
        return name or f"Member {self.customer_id}"


class Card(models.Model):
    """A membership card; a member may hold several (family card, replacement of a lost card)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        REPLACED = "replaced", "Replaced"

    barcode = models.CharField(max_length=13, unique=True, validators=[validate_ean13])
    member = models.ForeignKey(Member, related_name="cards", on_delete=models.PROTECT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField(auto_now_add=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField("self", null=True, blank=True, related_name="replaces", on_delete=models.SET_NULL)

    class Meta:
        ordering = ["barcode"]

    def __str__(self) -> str:
        return f"{self.barcode} ({self.get_status_display()})"


class HouseholdDemographics(models.Model):
    """What the member told us of their household (bands, as surveyed)."""

    member = models.OneToOneField(Member, related_name="demographics", on_delete=models.CASCADE)
    age_band = models.CharField(max_length=20, blank=True)
    income_band = models.CharField(max_length=20, blank=True)
    home_ownership = models.CharField(max_length=40, blank=True)
    marital_status = models.CharField(max_length=20, blank=True)
    household_size = models.PositiveSmallIntegerField(null=True, blank=True)
    household_composition = models.CharField(max_length=40, blank=True)
    kids_count = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "household demographics"


class CustomerProfile(models.Model):
    """The nightly refresh's view of a customer, served to the till and the back office."""

    member = models.OneToOneField(Member, related_name="profile", on_delete=models.CASCADE)
    refreshed_on = models.DateField()
    rfm_segment = models.CharField(max_length=30, blank=True)
    recency_days = models.IntegerField(null=True)
    frequency = models.IntegerField(null=True, help_text="Baskets in the RFM window.")
    monetary = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    pyramid_level = models.CharField(max_length=10, blank=True)
    value_class = models.CharField(max_length=1, blank=True)
    value_tier = models.CharField(max_length=10, blank=True)
    lifecycle_stage = models.CharField(max_length=15, blank=True)
    deal_proneness = models.FloatField(null=True, help_text="Share of spend bought on a discount (0-1).")
    # Forecasts (forecasting/nightly.py); empty when the lake is too small to fit the models.
    expected_purchases = models.FloatField(null=True, help_text="Expected purchase days in the next 13 weeks.")
    probability_alive = models.FloatField(null=True, help_text="Chance the customer is still a customer (0-1).")
    churn_risk = models.FloatField(null=True, help_text="Chance of no purchase in the next 13 weeks (0-1).")
    at_risk = models.BooleanField(null=True, help_text="Churn risk of at least 0.5.")
    predicted_clv = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, help_text="Expected value of the next 12 months, discounted."
    )
    clv_lower = models.DecimalField(max_digits=14, decimal_places=2, null=True, help_text="90% interval, low end.")
    clv_upper = models.DecimalField(max_digits=14, decimal_places=2, null=True, help_text="90% interval, high end.")
    expected_next_visit = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["rfm_segment"]),
            models.Index(fields=["pyramid_level"]),
            models.Index(fields=["at_risk"]),
        ]


class TillContext(models.Model):
    """What the cashier is told at identify, from the nightly refresh (`analytics.till_context`):
    one small row per member, read in identify's one query."""

    member = models.OneToOneField(Member, related_name="till_context", on_delete=models.CASCADE)
    refreshed_on = models.DateField()
    top_categories = models.CharField(max_length=400, blank=True,
                                      help_text="The categories of the most spend, most first, separated by '|'.")
    last_bought = models.CharField(max_length=100, blank=True, help_text="Category of the last basket's dearest line.")
    last_bought_on = models.DateField(null=True, blank=True)
    goes_with = models.CharField(max_length=100, blank=True,
                                 help_text="The category bought with it most above chance (association lift).")
