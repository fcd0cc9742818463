"""A campaign's measurement: its assignments and costs from the operational database, the members'
outcomes from the lake (`analytics.campaign_measure`), the lifts against the holdout.

Intent-to-treat: every assigned member counts, reached or not. Before the window closes the
result is interim and says so.
"""

from __future__ import annotations

import io
import os
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone

from clientele.analytics.campaign_measure import ASSIGNMENT_SCHEMA, measure, member_outcomes
from clientele.campaigns import errors
from clientele.campaigns.models import Assignment, Campaign, Contact
from clientele.campaigns.services import get_campaign
from clientele.config import settings
from clientele.engine import connect
from clientele.lake.reader import basket_lines

ITT = ("Intent-to-treat: every member drawn into the treated group counts, whether the message reached "
       "them or not; the holdout was never contacted.")


def measure_campaign(campaign_id: int, engine: str | None = None) -> dict:
    """The campaign's measurement: lifts per metric with 95% intervals, the variance-reduced
    (CUPED) estimates, lifts per stratum, ROI, progress to the goal, the sentences to read, the
    costs and whether the result is interim (the window not yet closed)."""
    campaign = get_campaign(campaign_id)
    if campaign.status == Campaign.Status.DRAFT:
        raise errors.WrongStatus(f"campaign {campaign.id} is a draft: launch it, then measure after its window")
    today = timezone.now().date()
    if today < campaign.window_start:
        raise errors.WrongStatus(f"campaign {campaign.id}'s window opens on {campaign.window_start}: nothing to measure yet")
    con = connect(engine)
    window_end = min(campaign.window_end, today)
    assignments = con.read_parquet(str(assignments_parquet(campaign)))
    outcomes = member_outcomes(basket_lines(con), assignments, campaign.window_start, window_end,
                               campaign.pre_days).to_pyarrow()
    redeemers, offer_cost = _redemptions(campaign, window_end)
    contacts = Contact.objects.filter(assignment__campaign=campaign, status=Contact.Status.SENT).count()
    costs = campaign.fixed_cost + campaign.cost_per_contact * contacts + offer_cost
    try:
        result = measure(outcomes, campaign.goal_metric, float(campaign.goal_target), redeemers,
                         float(campaign.margin_rate), float(costs))
    except ValueError as error:
        raise errors.InvalidCampaign(f"campaign {campaign.id}: {error}") from None
    interim = today <= campaign.window_end
    return {
        "campaign": campaign.id, "name": campaign.name, "window_start": campaign.window_start,
        "window_end": campaign.window_end, "measured_to": window_end, "interim": interim,
        "label": (f"INTERIM: the window runs to {campaign.window_end}; measured to {window_end}" if interim
                  else "Final: the window has closed"),
        "analysis": ITT, "contacts_sent": contacts,
        "costs": {"fixed": campaign.fixed_cost, "contacts": campaign.cost_per_contact * contacts,
                  "offers": offer_cost, "total": costs},
        **result.as_dict(),
    }


def assignments_parquet(campaign: Campaign) -> Path:
    """The campaign's assignments (customer_id, treated, stratum, by customer) as a Parquet file the
    engines read, exported once per state of the campaign (its assignments are never changed, only
    added to by a trigger: the file's name holds their count and last id). Set-based: PostgreSQL's
    COPY TO into Arrow's CSV reader; SQLite in one query."""
    state = campaign.assignments.aggregate(members=Count("id"), last=Max("id"))
    folder = settings().home.resolve() / "campaigns"
    path = folder / f"assignments-{campaign.id}-{state['members']}-{state['last'] or 0}.parquet"
    if path.exists():
        return path
    table = connection.ops.quote_name(Assignment._meta.db_table)
    query = (f"SELECT customer_id, \"group\" = '{Assignment.Group.TREATED.value}' AS treated, stratum FROM {table} "
             f"WHERE campaign_id = {int(campaign.id)} ORDER BY customer_id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
                for block in copy:
                    buffer.write(block)
            buffer.seek(0)
            rows = pa_csv.read_csv(buffer, pa_csv.ReadOptions(column_names=ASSIGNMENT_SCHEMA.names),
                                   convert_options=pa_csv.ConvertOptions(column_types=ASSIGNMENT_SCHEMA,
                                                                         true_values=["t"], false_values=["f"],
                                                                         strings_can_be_null=False))
        else:
            cursor.execute(query)
            ids, treated, strata = zip(*cursor.fetchall()) if campaign.assignments.exists() else ((), (), ())
            rows = pa.table({"customer_id": ids, "treated": [bool(value) for value in treated], "stratum": strata},
                            schema=ASSIGNMENT_SCHEMA)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"assignments-{campaign.id}-*.parquet"):
        stale.unlink(missing_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    pq.write_table(rows.cast(ASSIGNMENT_SCHEMA), partial)
    partial.replace(path)
    return path


def _redemptions(campaign: Campaign, until) -> tuple[set[int], Decimal]:
    """Customer ids of the campaign's members who redeemed its offers in the window, and the
    discounts given to its treated members (the offer cost)."""
    from clientele.offers.models import OfferRedemption

    redemptions = OfferRedemption.objects.filter(
        offer__in=campaign.offers.all(), redeemed_at__date__gte=campaign.window_start, redeemed_at__date__lte=until,
        member__customer_id__in=campaign.assignments.values("customer_id"))
    redeemers = set(redemptions.filter(kind=OfferRedemption.Kind.REDEEMED)
                    .values_list("member__customer_id", flat=True))
    treated = campaign.assignments.filter(group=Assignment.Group.TREATED).values("customer_id")
    cost = redemptions.filter(member__customer_id__in=treated).aggregate(total=Sum("discount"))["total"]
    return redeemers, cost or Decimal("0")
