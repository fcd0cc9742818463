from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "clientele.backoffice"
    label = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from clientele.backoffice import panels

        panels.load_contributed_panels()
