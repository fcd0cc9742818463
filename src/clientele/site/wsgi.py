"""WSGI entry point (gunicorn clientele.site.wsgi): the till's hot calls, then the Django application.

`HotCalls` answers identify and the basket post (docs/decisions/0008-till-hot-calls-beside-django.md)
and hands every other request to Django.

Once the application is loaded, what loading it made (modules, models, URL patterns, schemas:
about a hundred thousand objects, all kept for the worker's life) is frozen out of the garbage
collector's reach (`gc.freeze`, as Python's documentation advises for servers): else every full
collection walks them all again, tens of milliseconds in which the worker's threads answer no one.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")
django_application = get_wsgi_application()

from clientele.loyalty.api_hot_calls import HotCalls  # noqa: E402  (needs Django set up)

application = HotCalls(django_application)
gc.freeze()
