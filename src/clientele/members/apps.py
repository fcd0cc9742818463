from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "clientele.members"
    verbose_name = "Members and cards"
