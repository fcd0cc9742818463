"""The back office's roles: Django groups made of permissions (docs/backoffice.md lists them).

`create_roles` is run by migration backoffice 0002 and may be run again after a permission is added
to a role: it gives each group the permissions listed below. Other apps' migrations add their own
permissions to these groups (campaigns 0003, service 0003, offers 0014) or add roles of their own; running
`create_roles` again keeps those (it adds, never removes: a permission taken from a role is taken by a
migration that says so).
"""

from __future__ import annotations

_360 = ["backoffice.view_customer_360"]
_PERSONAL = ["backoffice.view_personal_data"]
_EVERY_STORE = ["backoffice.view_all_stores"]
_DASHBOARD = ["backoffice.view_dashboard"]
_SEGMENTS = ["backoffice.view_segments", "backoffice.export_segment"]
_LEDGER = ["loyalty.view_pointsentry", "loyalty.view_basket", "members.view_member", "members.view_card"]
_PROGRAMME = [
    f"loyalty.{verb}_{model}"
    for model in ("earningrule", "tier", "reward", "programme", "apikey")
    for verb in ("view", "add", "change")
] + ["catalog.view_product", "catalog.view_store"]

#: role (group name) -> the permissions ("app_label.codename") its members hold.
ROLES: dict[str, list[str]] = {
    # own store's members (with contact details, to serve them) and the store's tills' keys
    "store manager": _360 + _PERSONAL + _DASHBOARD + _LEDGER + ["loyalty.view_apikey"],
    # segments and campaigns; members' analytics without contact details
    "marketer": _360 + _EVERY_STORE + _DASHBOARD + _SEGMENTS + ["loyalty.view_earningrule", "catalog.view_product"],
    # the customer 360 of any member, with contact details to call them back
    "service agent": _360 + _PERSONAL + _EVERY_STORE + _LEDGER,
    # aggregates and exports of consenting members; personal data masked
    "analyst": _360 + _EVERY_STORE + _DASHBOARD + _SEGMENTS,
    # rules, tiers, rewards, till keys
    "programme administrator": _DASHBOARD + _PROGRAMME,
    # consent, access, erasure and the audit log
    "data protection officer": _360 + _PERSONAL + _EVERY_STORE + ["backoffice.view_audit_log",
                                                                  "members.view_member", "members.change_member"],
    # the identity review queue and merges (identity permissions added by migration identity 0003)
    "data steward": _360 + _PERSONAL + _EVERY_STORE + ["members.view_member"],
    # its own anonymised reports only
    "manufacturer": ["backoffice.view_anonymised_reports"],
}

def create_roles(apps) -> None:
    """Create one group per role, or complete it, with the role's permissions (others kept).

    `apps` is a migration's app registry; permissions not yet created (a fresh database, where
    Django creates them after the migrations) are created first.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # a migration's registry marks no app as having models: mark each for create_permissions,
        # then put back what it was (never None on the running project's registry, or Django's
        # post_migrate would skip every app's content types and permissions from then on)
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_models
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = [tuple(name.split(".")) for name in names]
        found = list(permission_model.objects.filter(
            content_type__app_label__in={app for app, _ in wanted}, codename__in={code for _, code in wanted}))
        missing = set(wanted) - {(p.content_type.app_label, p.codename) for p in found}
        if missing:
            raise LookupError(f"role {role!r} names permissions that do not exist: {sorted(missing)}")
        group.permissions.add(*[p for p in found if (p.content_type.app_label, p.codename) in set(wanted)])
