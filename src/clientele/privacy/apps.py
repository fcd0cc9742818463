from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "clientele.privacy"
    verbose_name = "Privacy (consent, access, erasure)"

    def ready(self) -> None:
        from clientele.privacy.audit import register_audited_models

        register_audited_models()
