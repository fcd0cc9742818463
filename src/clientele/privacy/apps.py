from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "clientele.privacy"
    verbose_name = "Privacy (consent, access, erasure)"
