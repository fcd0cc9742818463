from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "clientele.portal"
    verbose_name = "Member portal"
