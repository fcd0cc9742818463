from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "clientele.identity"
    verbose_name = "One customer, one ID (matching, review, merges)"

    def ready(self) -> None:
        from clientele.identity.merging import survivor_number
        from clientele.privacy.identity import register_survivor_lookup

        register_survivor_lookup(survivor_number)  # a privacy request for a merged-away number
