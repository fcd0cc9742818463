"""WSGI entry point (gunicorn clientele.site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
application = get_wsgi_application()
