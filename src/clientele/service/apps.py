from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "clientele.service"
    verbose_name = "Service desk"
