"""Goodwill points granted by several agents at the same moment: one ledger entry (real threads,
each with its own database connection)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from desk_builders import complaint_answers
from django.db import connections

from clientele.loyalty import ledger
from clientele.loyalty.models import PointsEntry
from clientele.service import errors, services
from clientele.service.models import Compensation


def run_together(calls: list) -> list:
    """Run the calls at the same moment, one thread (and connection) each: their results or refusals."""
    start = threading.Barrier(len(calls))

    def at_once(call):
        start.wait()
        try:
            return call()
        except errors.ServiceError as refused:
            return refused
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(at_once, calls))


def test_concurrent_grants_of_one_complaints_goodwill_credit_it_once(transactional_db, ada, store, soap, agent):
    complaint = services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam")
    results = run_together([lambda: services.give_goodwill(complaint.pk, 250, agent)] * 4)
    assert sorted(replayed for _, replayed in results) == [False, True, True, True]
    assert PointsEntry.objects.filter(idempotency_key=f"goodwill:complaint:{complaint.pk}").count() == 1
    assert Compensation.objects.count() == 1
    assert ledger.balance(ledger.account_for_member(ada).pk).available == 250


def test_concurrent_grants_of_different_amounts_keep_the_first_and_refuse_the_rest(transactional_db, ada, store,
                                                                                     soap, agent):
    complaint = services.record_complaint(services.ComplaintIn(**complaint_answers()), "sam")
    results = run_together([lambda points=points: services.give_goodwill(complaint.pk, points, agent)
                            for points in (100, 200, 300)])
    granted = [r for r in results if not isinstance(r, errors.ServiceError)]
    assert len(granted) == 1 and all(isinstance(r, errors.GoodwillAlreadyGiven) for r in results if r not in granted)
    assert ledger.balance(ledger.account_for_member(ada).pk).available == granted[0][0].points
