from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "clientele.campaigns"
    verbose_name = "Campaigns measured against random holdouts"
