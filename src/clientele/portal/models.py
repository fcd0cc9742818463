"""The member portal's own data: sign-in codes and sessions (only hashes of their secrets), the
sign-in events its limits count, members' referral codes and product reviews.

Nothing here holds an identifier a member typed to sign in (card, e-mail, phone) nor a network
address in clear: the network address is kept as a keyed hash, enough to count a client's tries. The
one exception is a new e-mail or phone a signed-in member asked for, kept with its confirmation code
until confirmed (then it is the member's) or expired (then the nightly purge blanks it).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SignInCode(models.Model):
    """A one-time code sent to a member (or a decoy when nobody matched what was typed: the answer
    is the same, so the portal never tells whether an address is a member's), to sign in or to
    confirm a new e-mail or phone (`purpose`; sent to the new address, held in `new_value`). The
    code and the challenge that names it are kept as keyed hashes; used once (`used_at`), until
    `expires_at`."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        NONE = "", "Not sent (nobody matched)"

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", "Sign in"
        EMAIL = "email", "Confirm a new e-mail"
        PHONE = "phone", "Confirm a new phone"

    challenge_hash = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=64)
    member = models.ForeignKey("members.Member", null=True, on_delete=models.CASCADE, related_name="+",
                               db_index=False)  # portal_code_member leads with it
    channel = models.CharField(max_length=5, choices=Channel.choices, blank=True)
    client = models.CharField(max_length=64, help_text="Keyed hash of the network address that asked.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.SIGN_IN)
    new_value = models.CharField(max_length=254, blank=True,
                                 help_text="The new e-mail or phone a confirmation code is for (blanked once expired).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["challenge_hash"], name="portal_challenge_once"),
                       models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                              name="portal_code_expires_after_creation")]
        indexes = [models.Index(fields=["member", "created_at"], name="portal_code_member"),
                   models.Index(fields=["client", "created_at"], name="portal_code_client")]


class SignInFailure(models.Model):
    """A wrong code typed: counted per member and per network address to lock the sign-in."""

    member = models.ForeignKey("members.Member", null=True, on_delete=models.CASCADE, related_name="+",
                               db_index=False)  # portal_failure_member leads with it
    client = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["member", "at"], name="portal_failure_member"),
                   models.Index(fields=["client", "at"], name="portal_failure_client")]


class PortalSession(models.Model):
    """A member signed in (a page's session or an app's bearer token): only the token's SHA-256."""

    token_hash = models.CharField(max_length=64)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    signed_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token_hash"], name="portal_session_token_once")]


class ReferralCode(models.Model):
    """The code a member gives friends; the friend enters it before their first basket."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, related_name="referral_code")
    code = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code"], name="portal_referral_code_once")]


class Review(models.Model):
    """A member's review of a product: rewarded once per review by the programme's review bonus."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="reviews")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="portal_review_rating_1_5"),
                       models.CheckConstraint(condition=~Q(text=""), name="portal_review_has_text")]
