from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "clientele.care"
    verbose_name = "Customer care"
