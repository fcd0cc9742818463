from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "clientele.catalog"
    verbose_name = "Stores and products"
