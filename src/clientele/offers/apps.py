from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "clientele.offers"
    verbose_name = "Offers and shopping lists"
