from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "clientele.identity"
    verbose_name = "One customer, one ID (matching, review, merges)"
