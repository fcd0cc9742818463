"""The Django project of the operational app."""
