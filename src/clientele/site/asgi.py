"""ASGI entry point (uvicorn clientele.site.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
application = get_asgi_application()
