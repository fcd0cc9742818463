from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "clientele.loyalty"
    verbose_name = "Loyalty programme"
