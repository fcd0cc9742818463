"""Satisfaction surveys (seed 001): attributes rated 1-5 with importance weights, invitations with
their own token, one answer per invitation."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Survey(models.Model):
    """A satisfaction survey: its attributes, when it is open, how importance is weighted."""

    class Weighting(models.TextChoices):
        STATED = "stated", "Stated by the marketer"
        DERIVED = "derived", "Derived from the answers (correlation with the overall score)"

    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    weighting = models.CharField(max_length=10, choices=Weighting.choices, default=Weighting.STATED)
    created_by = models.CharField(max_length=150)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")),
                                              name="survey_closes_after_opening")]

    def __str__(self) -> str:
        return self.title


class SurveyAttribute(models.Model):
    """One attribute a survey asks about (quality, function, price, service, packaging, taste)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="attributes")
    name = models.CharField(max_length=60)
    importance = models.DecimalField(max_digits=6, decimal_places=3, help_text="Stated importance weight (> 0).")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["survey", "name"], name="survey_attribute_once"),
                       models.CheckConstraint(condition=Q(importance__gt=0), name="survey_importance_positive")]


class Invitation(models.Model):
    """One member invited to a survey, with the token of their own link."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="survey_invitations")
    token = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "member"], name="survey_invitation_once")]


class SurveyAnswer(models.Model):
    """The one answer to an invitation: the overall score and the store it is about."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="answer")
    overall = models.PositiveSmallIntegerField()
    store = models.ForeignKey("catalog.Store", null=True, blank=True, on_delete=models.PROTECT)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(overall__gte=1, overall__lte=5),
                                              name="survey_overall_1_to_5")]


class AttributeRating(models.Model):
    """One attribute's score, 1-5, in one answer."""

    answer = models.ForeignKey(SurveyAnswer, on_delete=models.CASCADE, related_name="ratings")
    attribute = models.ForeignKey(SurveyAttribute, on_delete=models.PROTECT)
    score = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["answer", "attribute"], name="survey_rating_once"),
                       models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="survey_score_1_to_5")]
