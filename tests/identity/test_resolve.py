"""Scored matching end to end: members and a shop file that overlaps them; links, review, decisions."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from clientele.cli import app
from clientele.identity import errors, synth
from clientele.identity.models import CandidatePair, ContactImport, Merge, SourceRecord
from clientele.identity.services import decide, resolve, review_counts
from clientele.members.models import Member


@pytest.fixture
def people(db, home):
    """150 synthetic people (seeded, known truth): the till's records as members, the others as
    contact records of the online shop and the service desk."""
    records = synth.people(150, seed=3)
    log = ContactImport.objects.create(source="mixed", file_name="synth", content_hash="s", rows_read=0, rows_loaded=0,
                                       rows_quarantined=0, imported_by="t", imported_at="2026-12-06T00:00:00Z")
    fields = ("first_name", "last_name", "email", "phone", "address_line", "postal_code", "city")
    for n, r in enumerate(records):
        values = {name: r[name] for name in fields}
        born = date.fromisoformat(r["birth_date"]) if r["birth_date"] else None
        if r["source"] == "members":
            Member.objects.create(customer_id=1000 + n, birth_date=born, join_date=date(2024, 1, 1), **values)
        else:
            SourceRecord.objects.create(source=r["source"], source_key=str(n), contact_import=log, birth_date=born,
                                        **values)
    return records


def test_given_a_file_overlapping_the_members_then_links_are_automatic_or_reviewed_and_decisions_stick(people):
    counts = resolve()

    assert counts["auto_linked"] > 0
    linked = SourceRecord.objects.filter(member__isnull=False)
    assert linked.count() == counts["auto_linked"] - counts["merged"]
    truth = {str(n): r["person"] for n, r in enumerate(people)}
    person_of_member = {1000 + n: r["person"] for n, r in enumerate(people) if r["source"] == "members"}
    wrong = [r.source_key for r in linked if truth[r.source_key] != person_of_member[r.member.customer_id]]
    assert wrong == []  # no false automatic link on the seeded set
    pair = CandidatePair.objects.filter(status="auto_linked").first()
    assert {f["field"] for f in pair.fields} >= {"first_name", "last_name", "email", "phone"}
    assert all("weight" in f and f["agreement"] in ("agree", "disagree", "missing") for f in pair.fields)

    queued = CandidatePair.objects.filter(status="review").order_by("pk")
    if queued.exists():
        first = queued.first()
        decide(first.pk, accept=False, reviewer="ann")
        with pytest.raises(errors.PairAlreadyDecided, match=f"pair {first.pk} was already decided.*by ann"):
            decide(first.pk, accept=True, reviewer="bob")
        again = resolve()
        assert CandidatePair.objects.get(pk=first.pk).status == "rejected"
        assert again["already_decided"] >= 1
    assert review_counts()["auto_linked"] == CandidatePair.objects.filter(status="auto_linked").count()


def test_given_two_members_enrolled_twice_then_resolve_merges_them_and_the_cli_undoes_it(shop):
    for number, email in ((42, "ada@example.org"), (43, "ADA+shop@example.org")):
        Member.objects.create(customer_id=number, first_name="Ada", last_name="Lovelace", email=email,
                              phone="+13125550100", birth_date=date(1990, 12, 10), join_date=date(2024, 1, 1))
    for number in range(100, 140):  # other members, so that the model has someone to tell apart
        Member.objects.create(customer_id=number, first_name=f"N{number}", last_name=f"Other{number % 7}",
                              email=f"n{number}@example.org", phone=f"+1312555{number:04d}",
                              birth_date=date(1950 + number % 40, 1 + number % 12, 1), join_date=date(2024, 1, 1))

    resolve()

    merge = Merge.objects.get()
    assert (merge.survivor.customer_id, merge.absorbed.customer_id) == (42, 43)
    runner = CliRunner()
    done = runner.invoke(app, ["identity", "unmerge", str(merge.pk), "--reason", "twins"])
    assert done.exit_code == 0, done.output
    assert f"Merge {merge.pk} undone" in done.output
    assert Member.objects.get(customer_id=43).status == "active"
