"""The loyalty programme's data: accounts, the points ledger, baskets, tiers, rewards, till keys.

The ledger (`PointsEntry`) is append-only: an entry is never updated or deleted, a correction is a
new entry. Every balance is a sum over it (see `loyalty.ledger`). Earning rules live in
`loyalty.rules_models` and are imported here so that Django finds them.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class Programme(models.Model):
    """The programme's settings a marketer or finance changes (one row)."""

    class NegativeBalancePolicy(models.TextChoices):
        CARRY_DEBT = "carry_debt", "Carry the debt (the balance may go below zero after a return)"
        REDUCE_REFUND = "reduce_refund", "Reduce the refund by the value of points already spent"

    name = models.CharField(max_length=100, default="Clientele rewards")
    point_value = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("0.01"), validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="Money value of one point when redeemed as payment; also the liability rate.",
    )
    return_window_days = models.PositiveIntegerField(
        default=30, help_text="Days a purchase may be returned: its points stay pending until then."
    )
    expiry_months = models.PositiveIntegerField(default=24, help_text="Points expire this many months after earning.")
    negative_balance_policy = models.CharField(
        max_length=20, choices=NegativeBalancePolicy.choices, default=NegativeBalancePolicy.CARRY_DEBT
    )
    tier_grace_days = models.PositiveIntegerField(
        default=90, help_text="Days a member keeps a tier after falling below its thresholds."
    )
    clock_skew_seconds = models.PositiveIntegerField(
        default=300, help_text="How far in the future a till's clock may be before a basket is refused."
    )

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.pk = 1  # one programme per installation
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> Programme:
        """The programme's settings (created with the defaults on first use, then read back, so the
        first answer is the stored one: point_value 0.0100, as every later read gives it)."""
        programme, created = cls.objects.get_or_create(pk=1)
        if created:
            programme.refresh_from_db()
        return programme


class Tier(models.Model):
    """A membership level, earned on 12-month spend and visits, never on the points balance."""

    name = models.CharField(max_length=50, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="0 = entry level; higher is better.")
    min_spend_12m = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    min_visits_12m = models.PositiveIntegerField(default=0)
    earning_multiplier = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("1"))]
    )
    perks = models.JSONField(default=list, blank=True, help_text='Non-price benefits, e.g. ["express lane"].')

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.perks, list) or not all(isinstance(p, str) for p in self.perks):
            raise ValidationError({"perks": "perks is a list of texts"})
        if self.min_spend_12m is not None and self.min_spend_12m < 0:
            raise ValidationError({"min_spend_12m": "a spend threshold cannot be negative"})


class LoyaltyAccount(models.Model):
    """A member's points account: the row every ledger write locks."""

    member = models.OneToOneField("members.Member", related_name="loyalty_account", on_delete=models.PROTECT)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT)
    tier_since = models.DateField(null=True, blank=True)
    tier_grace_until = models.DateField(
        null=True, blank=True, help_text="Set while the member is below the tier's thresholds."
    )
    opened_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Account of {self.member}"


class PointsEntry(models.Model):
    """One line of the points ledger, named for the business event that caused it.

    Pending or available is not stored: an entry counts as pending while `available_from` is in
    the future, so the ledger never needs updating when a return window closes.
    """

    class Kind(models.TextChoices):
        POINTS_EARNED = "points_earned", "Points earned on a basket"
        POINTS_REVERSED = "points_reversed", "Points reversed on a return"
        POINTS_REDEEMED = "points_redeemed", "Points redeemed"
        POINTS_EXPIRED = "points_expired", "Points expired"
        OPENING_BALANCE = "opening_balance", "Opening balance from a previous system"
        BONUS_AWARDED = "bonus_awarded", "Bonus for an action that is not a purchase"
        # a merge of two members moves the balance (identity.merging); its undo moves it back
        POINTS_MERGED_IN = "points_merged_in", "Points moved in from a merged member"
        POINTS_MERGED_OUT = "points_merged_out", "Points moved out to the member merged into"
        # a member event the member took part in (care.record_attendance): once per member and event
        EVENT_BONUS = "event_bonus", "Bonus for taking part in a member event"

    # Foreign keys enforced by the database (docs/integrity.md): no entry without its account, no
    # credit without its basket, whatever path writes or deletes.
    account = models.ForeignKey(LoyaltyAccount, related_name="entries", on_delete=models.PROTECT,
                                db_index=False)  # the (account, available_from) index leads with it
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Points; negative for redemptions, reversals and expiries.")
    available_from = models.DateTimeField(help_text="Pending until then (the return window).")
    expires_on = models.DateField(null=True, blank=True, help_text="Credits only.")
    source = models.CharField(max_length=200, help_text="The document behind the entry, e.g. basket 3/2/1001.")
    basket = models.ForeignKey("Basket", null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    # Unique by a constraint, not `unique=True`, which on PostgreSQL adds a second index for LIKE
    # queries that nothing runs: one index fewer to write per entry (decision 0013).
    idempotency_key = models.CharField(max_length=200)
    # Indexed only where there is a rule (bonuses): a basket's credit names none (its explanation
    # does), and deleting a rule looks entries up by a rule, never by NULL.
    rule = models.ForeignKey("EarningRule", null=True, blank=True, on_delete=models.PROTECT, db_index=False)
    explanation = models.JSONField(default=list, blank=True, help_text="Points given by each rule.")
    actor = models.CharField(max_length=100, help_text="Who caused it: an API key, a user, a command.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "points entries"
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="ledger_entry_once")]
        # Every balance is a sum over the account's entries (`ledger.balance_sums_sql`): with the
        # amount in the index, it is read from the index alone, not one heap page per entry of a
        # history that grows every week (migration loyalty 0009, decision 0017).
        indexes = [models.Index(fields=["account", "available_from", "amount"], name="ledger_account_balance"),
                   models.Index(fields=["kind", "expires_on"]),
                   models.Index(fields=["rule"], condition=Q(rule__isnull=False), name="ledger_entry_rule")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.source})"


class TierChange(models.Model):
    """Why a member moved tier (or entered a grace period), as decided by the tier review."""

    account = models.ForeignKey(LoyaltyAccount, related_name="tier_changes", on_delete=models.PROTECT)
    from_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    spend_12m = models.DecimalField(max_digits=14, decimal_places=2)
    visits_12m = models.PositiveIntegerField()
    reviewed_on = models.DateField()


class ApiKey(models.Model):
    """A till's or store system's key, scoped to one store. Only its SHA-256 is kept."""

    store = models.ForeignKey("catalog.Store", on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="Which till or system holds it.")
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}, store {self.store_id})"

    @property
    def actor(self) -> str:
        return f"api-key:{self.prefix}"


class Basket(models.Model):
    """A checkout posted by a till; store + till + receipt number identify it once and for all."""

    # Every reference a checkout writes (store, member, card; the lines' basket and product) is a
    # foreign key the database enforces (migration loyalty 0011, docs/integrity.md): a parent with
    # baskets cannot be deleted by any path, and one deleted while a checkout is under way makes
    # the checkout fail, not leave an orphan. Their cost is measured in docs/benchmarks.md.
    store = models.ForeignKey("catalog.Store", on_delete=models.PROTECT,
                              db_index=False)  # basket_receipt_once leads with it
    till_id = models.CharField(max_length=64)
    receipt_number = models.CharField(max_length=64)
    transacted_at = models.DateTimeField(help_text="UTC.")
    member = models.ForeignKey("members.Member", null=True, on_delete=models.PROTECT, related_name="baskets",
                               db_index=False)  # the (member, transacted_at) index leads with it
    # No index: no query looks baskets up by card, and an index entry per checkout costs more than
    # the scan that deleting a card (a rare mistake put right) makes the database do to check it.
    card = models.ForeignKey("members.Card", null=True, on_delete=models.PROTECT, db_index=False)
    channel = models.CharField(max_length=10, default="store")
    total = models.DecimalField(max_digits=14, decimal_places=2)
    points_earned = models.BigIntegerField(default=0)
    request_hash = models.CharField(max_length=64, help_text="Tells a genuine replay from a reused receipt number.")
    result = models.JSONField(help_text="The answer given to the till, returned again on a replay.")
    actor = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    lake_import_id = models.CharField(max_length=32, blank=True, default="")  # indexed in Meta: no LIKE index
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "till_id", "receipt_number"], name="basket_receipt_once")
        ]
        indexes = [models.Index(fields=["member", "transacted_at"]), models.Index(fields=["synced_at", "id"]),
                   # Only the baskets a lake sync has claimed: a checkout writes no entry here.
                   models.Index(fields=["lake_import_id"], condition=~Q(lake_import_id=""), name="basket_lake_import")]

    def __str__(self) -> str:
        return f"Basket {self.store_id}/{self.till_id}/{self.receipt_number}"


class BasketLine(models.Model):
    """One line of a basket, with the points it earned (the base of a proportional reversal)."""

    basket = models.ForeignKey(Basket, related_name="lines", on_delete=models.PROTECT,  # see Basket.store
                               db_index=False)  # basket_line_once leads with it
    line_no = models.PositiveIntegerField()
    # No index: no query looks lines up by product (the analytics read the lake), and ten index
    # entries per checkout cost more than a scan on the rare deletion of a product.
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, db_index=False)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    sales_value = models.DecimalField(max_digits=12, decimal_places=2)
    points = models.BigIntegerField(default=0)
    returned_quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["basket", "line_no"], name="basket_line_once")]


class BasketReturn(models.Model):
    """Lines brought back from an earlier basket, on any channel."""

    basket = models.ForeignKey(Basket, related_name="returns", on_delete=models.PROTECT)
    return_key = models.CharField(max_length=200, unique=True)
    request_hash = models.CharField(max_length=64, blank=True,
                                    help_text="Tells a genuine replay from a reused return id (empty before 2026-12-06).")
    store = models.ForeignKey("catalog.Store", on_delete=models.PROTECT)
    returned_at = models.DateTimeField()
    refund = models.DecimalField(max_digits=14, decimal_places=2)
    refund_reduction = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    points_reversed = models.BigIntegerField()
    result = models.JSONField()
    actor = models.CharField(max_length=100)
    lake_import_id = models.CharField(max_length=32, blank=True, default="", db_index=True)
    synced_at = models.DateTimeField(null=True, blank=True)


class ReturnLine(models.Model):
    basket_return = models.ForeignKey(BasketReturn, related_name="lines", on_delete=models.PROTECT)
    basket_line = models.ForeignKey(BasketLine, on_delete=models.PROTECT)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    refund = models.DecimalField(max_digits=14, decimal_places=2)
    points_reversed = models.BigIntegerField()


class Reward(models.Model):
    """A gift in the points catalogue."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    points_price = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = unlimited.")
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.points_price} points)"

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "the reward ends before it starts"})


class Redemption(models.Model):
    """Points spent on a reward or as payment, at a till (its store) or in the member portal (no
    store; a voucher code the member shows to collect the reward); the till's or the portal's
    redemption id makes it happen once."""

    account = models.ForeignKey(LoyaltyAccount, related_name="redemptions", on_delete=models.PROTECT)
    redemption_key = models.CharField(max_length=200, unique=True)
    request_hash = models.CharField(max_length=64, blank=True,
                                    help_text="Tells a genuine replay from a reused redemption id (empty before 2026-12-06).")
    store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.PROTECT,
                              help_text="Empty: redeemed by the member in the portal.")
    reward = models.ForeignKey(Reward, null=True, blank=True, on_delete=models.PROTECT)
    points = models.PositiveIntegerField()
    money_value = models.DecimalField(max_digits=12, decimal_places=2)
    voucher_code = models.CharField(max_length=12, blank=True,
                                    help_text="The code a member shows to collect a reward redeemed in the portal.")
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    collected_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When the voucher's reward was handed over at a till.")
    collected_store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", help_text="Where the voucher's reward was handed over.")
    collected_till = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voucher_code"], condition=~Q(voucher_code=""),
                                    name="redemption_voucher_once"),
            # only a voucher is collected, and a collection says when and where
            models.CheckConstraint(condition=Q(collected_at__isnull=True, collected_store__isnull=True,
                                               collected_till="")
                                   | (~Q(voucher_code="") & Q(collected_at__isnull=False,
                                                              collected_store__isnull=False) & ~Q(collected_till="")),
                                   name="redemption_collected_voucher_when_and_where"),
            # a redemption happened at a till, or in the portal with the voucher that collects it
            models.CheckConstraint(condition=Q(store__isnull=False) | (~Q(voucher_code="") & Q(reward__isnull=False)),
                                   name="redemption_at_a_till_or_a_voucher"),
        ]


class TillRequest(models.Model):
    """The first answer to an idempotent till call that keeps no record of its own (an enrolment,
    a card replacement), by the call and the till's key for it, with the fingerprint of the
    request: the same request again gets the same answer, another request under the key is refused."""

    call = models.CharField(max_length=20)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "key"], name="till_request_once")]


class Referral(models.Model):
    """A member who brought another; rewarded after the referred member's first basket."""

    referrer = models.ForeignKey("members.Member", related_name="referrals_made", on_delete=models.PROTECT)
    referred = models.OneToOneField("members.Member", related_name="referred_by", on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)


from clientele.loyalty.rules_models import EarningRule  # noqa: E402,F401  (registered with Django here)
