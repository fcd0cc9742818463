"""The settings of the app served to the browser tests (tests/conftest.py `_serving`): the product's,
but for the password hasher, MD5 first as in the tests' own process (tests/conftest.py
`pytest_configure`): the served app's setup creates a user per role and every browser test logs in,
each a PBKDF2 hash of 0.6 CPU s by design. The product's hashers stay in the list after it."""

from django.conf import global_settings

from clientele.site.settings import *  # noqa: F403 - the product's settings, every one of them

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
