"""Offers as data: what a marketer or a manufacturer funds, validated and versioned when saved.

An offer says what it applies to (target), what it gives (benefit), who pays (funder), when, to
whom (eligibility), how much in all (budget) and per member, and whether it adds to other offers
(stackable, precedence). Every saved change raises `version` and keeps a full copy with who and when
(django-simple-history, as the earning rules: docs/decisions/0004). The budget actually given is
kept apart, in `OfferBudget`'s slices, whose check constraints the database enforces under concurrent tills.
Shopping lists and redemptions are in `list_models` and `redemption_models`.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from clientele.offers import segments
from clientele.offers.list_models import ShoppingList, ShoppingListItem, ValueSizing  # noqa: F401
from clientele.offers.redemption_models import MemberOfferUse, OfferActivation, OfferRedemption  # noqa: F401

BRAND_TYPES = [("National", "National brand"), ("Private", "Store brand")]


class ManufacturerAccount(models.Model):
    """A manufacturer that funds offers and receives statements and anonymised reports."""

    name = models.CharField(max_length=200, unique=True)
    manufacturer_id = models.BigIntegerField(unique=True, help_text="The products' manufacturer number.")
    contact_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ManufacturerLogin(models.Model):
    """A back-office user who signs in for a manufacturer (role "manufacturer"): they see only that
    manufacturer's anonymised report (`offers.views.manufacturer_report`)."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="manufacturer_login")
    account = models.ForeignKey(ManufacturerAccount, on_delete=models.CASCADE, related_name="logins")

    def __str__(self) -> str:
        return f"{self.user} for {self.account}"


#: Records the offers' versions: `offers.services.save_offer` records one per change, products and
#: audience included (not one per saved row and one more per many-to-many change).
OFFER_HISTORY = HistoricalRecords(verbose_name="offer version", verbose_name_plural="offer versions",
                                  m2m_fields=["products", "audience"], cascade_delete_history=False)


class Offer(models.Model):
    """One offer: target, benefit, funder, validity, budget, per-member limit, eligibility, stacking."""

    class Target(models.TextChoices):
        PRODUCTS = "products", "Listed products"
        BRAND = "brand", "A manufacturer's brand"
        CATEGORY = "category", "A category"
        DEPARTMENT = "department", "A department"
        BASKET = "basket", "The whole basket"

    class Benefit(models.TextChoices):
        AMOUNT_OFF = "amount_off", "Amount off each unit (the basket once)"
        PERCENT_OFF = "percent_off", "Percent off"
        FIXED_PRICE = "fixed_price", "Fixed unit price"
        BUY_X_GET_Y = "buy_x_get_y", "Buy X, get Y free (the cheapest)"
        BONUS_POINTS = "bonus_points", "Bonus points"
        POINTS_MULTIPLIER = "points_multiplier", "Points multiplier"

    class Eligibility(models.TextChoices):
        EVERYONE = "everyone", "Every member"
        SEGMENT = "segment", "Members in a segment of the nightly profile"
        MEMBERS = "members", "An explicit list of members"
        PERSONAL = "personal", "Only on the personal shopping lists it is put on"

    code = models.SlugField(max_length=40, unique=True, help_text="Printed on lists and statements.")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    target = models.CharField(max_length=12, choices=Target.choices)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="offers")
    department = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    manufacturer_id = models.BigIntegerField(null=True, blank=True, help_text="Brand offers: the manufacturer.")
    brand_type = models.CharField(max_length=10, blank=True, choices=BRAND_TYPES,
                                  help_text="Narrows a brand, category or department to national or store brand.")
    min_spend = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                    help_text="Basket offers: the basket's spend needed.")
    benefit = models.CharField(max_length=20, choices=Benefit.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                 help_text="Amount off, or the fixed unit price.")
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    buy_quantity = models.PositiveSmallIntegerField(null=True, blank=True)
    get_quantity = models.PositiveSmallIntegerField(null=True, blank=True)
    bonus_points = models.PositiveIntegerField(null=True, blank=True)
    multiplier = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    funder = models.ForeignKey(ManufacturerAccount, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="offers", help_text="Empty: the retailer funds it.")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    budget_money = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                       help_text="Most discount given in all; empty = no money budget.")
    budget_count = models.PositiveIntegerField(null=True, blank=True,
                                               help_text="Most redemptions in all; empty = no count budget.")
    per_member_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Redemptions per member.")
    eligibility = models.CharField(max_length=10, choices=Eligibility.choices, default=Eligibility.EVERYONE)
    segment = models.CharField(max_length=200, blank=True, help_text=segments.HELP)
    audience = models.ManyToManyField("members.Member", blank=True, related_name="offers_targeted")
    stackable = models.BooleanField(default=False, help_text="Adds to other offers on the same lines.")
    precedence = models.PositiveSmallIntegerField(default=100, help_text="Lower applies first.")
    requires_activation = models.BooleanField(
        default=False, help_text="Applies only to members who activated (\"clipped\") it before shopping, in the portal.")
    version = models.PositiveIntegerField(default=1, editable=False)
    history = OFFER_HISTORY

    class Meta:
        ordering = ["precedence", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="offer_ends_after_start"),
            models.CheckConstraint(condition=Q(percent__isnull=True) | Q(percent__gt=0, percent__lte=100),
                                   name="offer_percent_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    def clean(self) -> None:
        """Refuse contradicting rules, each with a stable code (the API's problem code)."""
        errors: dict[str, list[ValidationError]] = {}

        def refuse(field: str, code: str, message: str) -> None:
            errors.setdefault(field, []).append(ValidationError(message, code=code))

        needed = {
            self.Benefit.AMOUNT_OFF: ("amount",), self.Benefit.PERCENT_OFF: ("percent",),
            self.Benefit.FIXED_PRICE: ("amount",), self.Benefit.BUY_X_GET_Y: ("buy_quantity", "get_quantity"),
            self.Benefit.BONUS_POINTS: ("bonus_points",), self.Benefit.POINTS_MULTIPLIER: ("multiplier",),
        }.get(self.benefit, ())
        for field in ("amount", "percent", "buy_quantity", "get_quantity", "bonus_points", "multiplier"):
            value = getattr(self, field)
            if field in needed and value is None:
                refuse(field, "benefit_incomplete", f"a {self.benefit} offer needs {field}")
            elif field not in needed and value is not None:
                refuse(field, "benefit_contradicts", f"{field} has no meaning for a {self.benefit} offer")
        if self.percent is not None and not Decimal("0") < self.percent <= Decimal("100"):
            refuse("percent", "percent_out_of_range", "a percent off lies above 0 and at most 100")
        if self.amount is not None and self.amount <= 0:
            refuse("amount", "amount_not_positive", "an amount must be positive")
        if self.multiplier is not None and self.multiplier <= 1:
            refuse("multiplier", "multiplier_not_above_one", "a points multiplier is above 1")
        if self.buy_quantity is not None and self.buy_quantity < 1 or self.get_quantity == 0:
            refuse("buy_quantity", "benefit_incomplete", "buy X get Y needs X and Y of at least 1")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            refuse("valid_until", "ends_before_start", "the offer ends before it starts")
        self._clean_target(refuse)
        self._clean_budget(refuse)
        if self.eligibility == self.Eligibility.SEGMENT:
            try:
                segments.parse(self.segment)
            except ValueError as error:
                refuse("segment", "invalid_segment", str(error))
        elif self.segment:
            refuse("segment", "invalid_segment", "only segment offers name a segment")
        if errors:
            raise ValidationError(errors)

    def _clean_budget(self, refuse) -> None:
        """A budget is never set below what the offer already gave (checked again under lock on save)."""
        budget = OfferBudget.objects.filter(pk=self.pk).prefetch_related("parts").first() if self.pk else None
        if budget is None:
            return
        given = (budget.given_money, budget.given_count)
        if self.budget_money is not None and self.budget_money < given[0]:
            refuse("budget_money", "budget_below_given", f"the offer already gave {given[0]}")
        if self.budget_count is not None and self.budget_count < given[1]:
            refuse("budget_count", "budget_below_given", f"the offer was already redeemed {given[1]} times")

    def _clean_target(self, refuse) -> None:
        target_fields = {self.Target.BRAND: "manufacturer_id", self.Target.CATEGORY: "category",
                         self.Target.DEPARTMENT: "department"}
        for kind, field in target_fields.items():
            if self.target == kind and not getattr(self, field):
                refuse(field, "target_incomplete", f"a {kind} offer names its {field}")
            elif self.target != kind and getattr(self, field):
                refuse(field, "target_contradicts", f"{field} has no meaning for a {self.target} offer")
        if self.brand_type and self.target in (self.Target.PRODUCTS, self.Target.BASKET):
            refuse("brand_type", "target_contradicts", "a brand type narrows brand, category or department offers")
        if self.min_spend is not None and self.target != self.Target.BASKET:
            refuse("min_spend", "target_contradicts", "only basket offers need a spend")
        if self.target == self.Target.BASKET and self.benefit in (self.Benefit.FIXED_PRICE, self.Benefit.BUY_X_GET_Y):
            refuse("benefit", "benefit_contradicts", "a basket offer gives an amount, a percent or points")


#: At most this many slices per budget; a budget gets one slice per `SLICE_MONEY` of money and per
#: `SLICE_COUNT` redemptions (the smaller), so a small budget stays one row and is never cut into
#: crumbs no discount fits.
MAX_SLICES = 16
SLICE_MONEY = Decimal("100")
SLICE_COUNT = 100


def slice_count(budget_money: Decimal | None, budget_count: int | None) -> int:
    """How many slices a budget is split into (decision 0091)."""
    limits = [MAX_SLICES]
    if budget_money is not None:
        limits.append(int(budget_money // SLICE_MONEY))
    if budget_count is not None:
        limits.append(budget_count // SLICE_COUNT)
    return max(1, min(limits))


class OfferBudget(models.Model):
    """An offer's budget (money and count; empty: none), split into `slices` rows of
    `OfferBudgetSlice` that tills take from in parallel (decision 0091): what was given and what is
    left is the sum of the slices, and the database refuses any slice going below zero.

    Written only by `offers.services` (the slices re-split at each save of the offer's budget,
    taken by a conditional UPDATE at each redemption) and the till's one statement.
    """

    offer = models.OneToOneField(Offer, primary_key=True, on_delete=models.PROTECT, related_name="spend")
    budget_money = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    budget_count = models.PositiveIntegerField(null=True)
    slices = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(slices__gte=1, slices__lte=MAX_SLICES),
                                              name="offer_budget_slices_1_16")]

    def _parts(self) -> list[OfferBudgetSlice]:
        return list(self.parts.all())  # the prefetched slices when the caller prefetched them

    @property
    def given_money(self) -> Decimal:
        """Discount given so far (currency units), all slices."""
        return sum((part.given_money for part in self._parts()), Decimal("0"))

    @property
    def given_count(self) -> int:
        """Redemptions so far, all slices."""
        return sum(part.given_count for part in self._parts())

    @property
    def money_left(self) -> Decimal | None:
        """The most discount one redemption can still take: the largest money left in a slice that
        has a redemption left (currency units); None without a money budget."""
        if self.budget_money is None:
            return None
        return max((part.money_left for part in self._parts() if part.count_left is None or part.count_left > 0),
                   default=Decimal("0"))

    @property
    def count_left(self) -> int | None:
        """Redemptions still available, all slices; None without a count budget."""
        return None if self.budget_count is None else sum(part.count_left for part in self._parts())


class OfferBudgetSlice(models.Model):
    """One slice of an offer's budget: what it has left and what it gave. A till takes a redemption
    from the slice its basket's number points to, or from another when that one has too little left."""

    budget = models.ForeignKey(OfferBudget, on_delete=models.CASCADE, related_name="parts",
                               db_index=False)  # offer_budget_slice_once leads with it
    slice = models.PositiveSmallIntegerField()
    money_left = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    count_left = models.IntegerField(null=True)
    given_money = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    given_count = models.IntegerField(default=0)

    class Meta:
        ordering = ["budget", "slice"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "slice"], name="offer_budget_slice_once"),
            models.CheckConstraint(condition=Q(money_left__isnull=True) | Q(money_left__gte=0),
                                   name="offer_budget_money_never_exceeded"),
            models.CheckConstraint(condition=Q(count_left__isnull=True) | Q(count_left__gte=0),
                                   name="offer_budget_count_never_exceeded"),
            models.CheckConstraint(condition=Q(given_money__gte=0, given_count__gte=0), name="offer_given_not_negative"),
        ]
