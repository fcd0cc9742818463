"""Roles, masking, the audit log and the member search, on the operational database itself."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction

from clientele.backoffice import selectors
from clientele.backoffice.masking import identity
from clientele.backoffice.models import PersonalDataView
from clientele.backoffice.roles import ROLES
from clientele.backoffice.services import add_user, record_personal_data_view
from clientele.barcodes import card_barcode
from clientele.catalog.models import Store
from clientele.members.models import Card, Member

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada() -> Member:
    Store.objects.create(store_id=1)
    Store.objects.create(store_id=2)
    member = Member.objects.create(customer_id=42, first_name="Ada", last_name="Lovelace", email="Ada@Example.com",
                                   phone="+13125550100", birth_date=date(1990, 12, 10), join_date=date(2024, 1, 5),
                                   home_store_id=1)
    Card.objects.create(barcode=card_barcode(42), member=member)
    Member.objects.create(customer_id=43, last_name="Byron", join_date=date(2024, 1, 5), home_store_id=2)
    return member


def test_the_migration_creates_every_role_with_its_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    agent = add_user("agent", "Secret-pass-42", "service agent")
    marketer = add_user("marketer", "Secret-pass-42", "marketer")
    maker = add_user("maker", "Secret-pass-42", "manufacturer")
    assert agent.has_perm("backoffice.view_personal_data") and agent.has_perm("backoffice.view_customer_360")
    assert marketer.has_perm("backoffice.view_customer_360") and not marketer.has_perm("backoffice.view_personal_data")
    assert maker.get_all_permissions() == {"backoffice.view_anonymised_reports"}


def test_running_create_roles_again_keeps_what_other_apps_gave_the_roles():
    from django.apps import apps

    from clientele.backoffice.roles import create_roles

    create_roles(apps)
    assert all(config.models_module for config in apps.get_app_configs() if config.label == "service")
    marketer = add_user("marketer", "Secret-pass-42", "marketer")
    supervisor = add_user("supervisor", "Secret-pass-42", "service supervisor")
    assert marketer.has_perm("campaigns.add_campaign") and marketer.has_perm("service.add_survey")
    assert marketer.has_perm("offers.add_offer") and marketer.has_perm("offers.change_manufactureraccount")
    assert supervisor.has_perm("service.add_complaint") and supervisor.has_perm("backoffice.view_customer_360")


def test_an_unknown_role_is_refused_naming_the_roles_there_are():
    from clientele.backoffice.services import UnknownRole

    with pytest.raises(UnknownRole, match="service supervisor"):
        add_user("someone", "Secret-pass-42", "cashier")


def test_personal_data_is_masked_for_roles_that_do_not_need_it(ada):
    shown = identity(ada, unmasked=False)
    assert shown["Last name"] == "L•••" and shown["E-mail"] == "A•••@•••" and shown["Phone"] == "•••00"
    assert shown["Birth date"] == "•••-•••-•••" and shown["City"] == ""
    assert identity(ada, unmasked=True)["E-mail"] == "Ada@Example.com"


def test_the_audit_log_refuses_changes_and_deletions_in_the_database(ada):
    entry = record_personal_data_view(add_user("dpo", "Secret-pass-42", "data protection officer"), 42, "test")
    for statement in (f"UPDATE backoffice_personaldataview SET customer_id = 1 WHERE id = {entry.pk}",
                      f"DELETE FROM backoffice_personaldataview WHERE id = {entry.pk}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert PersonalDataView.objects.get().customer_id == 42


@pytest.mark.parametrize("query", ["42", card_barcode(42), "+13125550100", "13125550100", "ada@example.COM",
                                   "lovelace", "Ada Lovelace"])
def test_a_member_is_found_by_number_card_phone_email_or_name(ada, query):
    agent = add_user("agent", "Secret-pass-42", "service agent")
    assert [m.customer_id for m in selectors.find_members(agent, query)] == [42]


def test_a_store_manager_finds_and_opens_only_the_own_stores_members(ada, client):
    manager = add_user("manager", "Secret-pass-42", "store manager", store_id=2)
    assert selectors.find_members(manager, "42") == []
    client.force_login(manager)
    refused = client.get("/backoffice/members/42/")
    assert refused.status_code == 403 and "another store" in refused.content.decode()
    assert client.get("/backoffice/members/43/").status_code == 200


def test_bad_searches_and_unknown_members_get_a_readable_answer(ada, client):
    client.force_login(add_user("agent", "Secret-pass-42", "service agent"))
    for query, message in [("x" * 201, "at most 200 characters"), ("a b c d e f g", "at most 6 words")]:
        page = client.get("/backoffice/members/", {"q": query})
        assert page.status_code == 200 and message in page.content.decode()
    assert "No member matches" in client.get("/backoffice/members/", {"q": "nobody"}).content.decode()
    assert client.get("/backoffice/members/999999/").status_code == 404
    assert client.get("/backoffice/dashboard/pyramids.csv").status_code == 403  # not the agent's page


def test_opening_a_member_with_personal_data_writes_the_audit_log_and_a_masked_view_does_not(ada, client):
    client.force_login(add_user("agent", "Secret-pass-42", "service agent"))
    assert "Lovelace" in client.get("/backoffice/members/42/").content.decode()
    client.force_login(add_user("analyst", "Secret-pass-42", "analyst"))
    assert "Lovelace" not in client.get("/backoffice/members/42/").content.decode()
    assert list(PersonalDataView.objects.values_list("username", "customer_id", "channel")) == [
        ("agent", 42, "customer 360 page")]
