"""The complaint form of the back office: types and choices only; every rule is the service's."""

from __future__ import annotations

from django import forms

from clientele.service.models import Complaint, ComplaintCause, Severity


class ComplaintForm(forms.Form):
    """The eight questions of seed 002 and what the complaint is about."""

    # every missing answer is reported by the server at once, beside its field, the same way for
    # every browser (a browser's own check stops at the first empty field)
    use_required_attribute = False

    member_number = forms.IntegerField(min_value=1)
    channel = forms.ChoiceField(choices=Complaint.Channel.choices)
    cause = forms.ChoiceField(choices=())
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    store_id = forms.IntegerField(required=False, label="Store number")
    product_id = forms.IntegerField(required=False, label="Product number (catalogue)")
    what_happened = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What happened?")
    how_it_happened = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="How did it happen?")
    why_unhappy = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                                  label="Which product, and why is the customer unhappy?")
    served_by = forms.CharField(max_length=200, label="Who served the customer?")
    other_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                                  label="Any other cause of dissatisfaction?")
    claim_reasonable = forms.TypedChoiceField(choices=[("", "—"), ("yes", "Yes"), ("no", "No")],
                                              coerce=lambda value: value == "yes",
                                              label="Is the customer's claim reasonable?")
    wanted_resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                                        label="How does the customer want it resolved?")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cause"].choices = list(ComplaintCause.objects.filter(active=True).values_list("code", "name"))
        for field in self.fields.values():
            field.error_messages["required"] = "this answer is required"
