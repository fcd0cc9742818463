"""The member's own side: the mobile portal (/portal/) and the app API (/api/portal/, docs/portal.md)."""
