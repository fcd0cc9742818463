"""Campaigns: every write and every rule, one transaction per business event.

create (validated: audience parses against the last refresh, holdout 0-50%, a goal with a window),
create from a playbook, update (refused after launch when it would change the groups), launch (the
audience drawn from the nightly profile, the holdout drawn from the stored seed and stored once),
add the members an event trigger names, send on a channel (consent checked per channel; the
holdout never), answer the till, end. Measurement is in `campaigns.measurement`.
"""

from __future__ import annotations

import io
import itertools
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from clientele.campaign_metrics import METRICS
from clientele.analytics.campaign_measure import ASSIGNMENT_SCHEMA
from clientele.analytics.holdout_draw import draw_audience, single_holdout
from clientele.analytics.results import PROFILE_COLUMNS, parse_segment, read_result, segment_members
from clientele.analytics.segments import SegmentError
from clientele.campaigns import channels, errors
from clientele.campaigns.models import CHANNELS, Assignment, Campaign, Contact
from clientele.campaigns.playbooks import PLAYBOOKS
from clientele.config import settings
from clientele.engine import connect

#: What may not change after launch: who is in the audience and in which group.
LOCKED_AFTER_LAUNCH = ("audience", "strata", "holdout_share", "seed", "trigger")
EDITABLE = ("name", "owner", "goal_metric", "goal_target", "window_start", "window_end", "pre_days", "audience",
            "strata", "trigger", "channels", "subject", "message", "fixed_cost", "cost_per_contact", "margin_rate",
            "holdout_share")


@dataclass(frozen=True)
class CampaignIn:
    """What a marketer sets on a campaign (money as Decimal, shares as fractions: 0.1 = 10%)."""

    name: str
    owner: str
    goal_metric: str
    goal_target: Decimal
    window_start: date | None
    window_end: date | None
    audience: str
    channels: tuple[str, ...] = ()
    subject: str = ""
    message: str = ""
    fixed_cost: Decimal = Decimal("0")
    cost_per_contact: Decimal = Decimal("0")
    margin_rate: Decimal = Decimal("0.3")
    holdout_share: Decimal | None = None
    strata: str = "pyramid_level,lifecycle_stage"
    trigger: str = ""
    pre_days: int = 91
    offer_codes: tuple[str, ...] = ()
    playbook: str = ""


def create_campaign(campaign: CampaignIn) -> Campaign:
    """A new draft campaign, its rules checked; raises a CampaignError naming the field at fault."""
    values = _checked(vars(campaign).copy())
    offers = _offers(campaign.offer_codes)
    with transaction.atomic():
        created = Campaign.objects.create(seed=secrets.randbits(62), **values)
        created.offers.set(offers)
    return created


def create_from_playbook(key: str, owner: str, start: date | None = None, **changes) -> Campaign:
    """A draft campaign from playbook `key` (see `campaigns.playbooks`), its window starting `start`
    (default tomorrow), with the marketer's `changes` (any CampaignIn field) applied."""
    playbook = PLAYBOOKS.get(key)
    if playbook is None:
        raise errors.UnknownPlaybook(f"no playbook {key!r}; valid: {', '.join(PLAYBOOKS)}")
    start = start or timezone.now().date() + timedelta(days=1)
    base = dict(name=playbook.name, owner=owner, goal_metric=playbook.goal_metric,
                goal_target=Decimal(playbook.goal_target), window_start=start,
                window_end=start + timedelta(days=playbook.window_days - 1), audience=playbook.audience,
                channels=playbook.channels, subject=playbook.subject, message=playbook.message,
                trigger=playbook.trigger, playbook=playbook.key)
    return create_campaign(CampaignIn(**{**base, **changes}))


def update_campaign(campaign_id: int, **changes) -> Campaign:
    """The campaign with `changes` applied; after launch, a change of audience, strata, holdout or
    trigger is refused (CampaignLocked): a new version is a new campaign."""
    unknown = set(changes) - set(EDITABLE) - {"offer_codes"}
    if unknown:
        raise errors.InvalidCampaign(f"cannot set {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            moved = [name for name in LOCKED_AFTER_LAUNCH if name in changes and _differs(campaign, name, changes[name])]
            if moved or "offer_codes" in changes:
                field = moved[0] if moved else "offer_codes"
                raise errors.CampaignLocked(f"campaign {campaign.id} is {campaign.status}: changing {field} would change "
                                            "who is in which group; create a new campaign instead", field=field)
        current = {name: getattr(campaign, name) for name in EDITABLE}
        offer_codes = changes.pop("offer_codes", None)
        values = _checked({**current, **changes})
        for name, value in values.items():
            setattr(campaign, name, value)
        campaign.save()
        if offer_codes is not None:
            campaign.offers.set(_offers(offer_codes))
    return campaign


def launch(campaign_id: int) -> dict:
    """Launch a draft: draw its audience from the last refresh, split each stratum into treated and
    holdout from the stored seed, store every assignment once. Returns the counts per group."""
    campaign = get_campaign(campaign_id)
    if campaign.status != Campaign.Status.DRAFT:
        raise errors.WrongStatus(f"campaign {campaign.id} is already {campaign.status}")
    groups = _draw(campaign, campaign.audience)
    if groups.num_rows == 0:
        raise errors.EmptyAudience(f"no customer of the last refresh is in {campaign.audience!r}")
    now = timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise errors.WrongStatus(f"campaign {campaign.id} is already {campaign.status}")
        _store_assignments(campaign, groups, "launch", now)
        campaign.status, campaign.launched_at = Campaign.Status.RUNNING, now
        campaign.save(update_fields=["status", "launched_at"])
    treated = pc.sum(groups.column("treated").cast(pa.int64())).as_py() or 0
    return {"treated": treated, "holdout": groups.num_rows - treated}


def add_triggered_members(campaign_id: int) -> dict:
    """Add to a running campaign the members its trigger names who are not yet in it (each drawn
    alone into the holdout with the campaign's share and seed). Returns the counts added per group."""
    campaign = get_campaign(campaign_id)
    if campaign.status != Campaign.Status.RUNNING or not campaign.trigger:
        raise errors.WrongStatus(f"campaign {campaign.id} is {campaign.status} and has "
                                 f"{'a' if campaign.trigger else 'no'} trigger: only a running campaign with one adds")
    groups = _draw(campaign, campaign.trigger).to_pylist()
    share = float(campaign.holdout_share)
    with transaction.atomic():
        campaign = _locked(campaign_id)
        known = set(campaign.assignments.values_list("customer_id", flat=True))
        new = [dict(row, treated=not single_holdout(campaign.seed, row["customer_id"], share))
               for row in groups if row["customer_id"] not in known]
        _store_assignments(campaign, pa.Table.from_pylist(new, schema=ASSIGNMENT_SCHEMA), "trigger", timezone.now())
    return {"treated": sum(row["treated"] for row in new), "holdout": sum(not row["treated"] for row in new)}


def end_campaign(campaign_id: int) -> Campaign:
    """Stop a running campaign: nothing more is sent and the till stops showing it."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != Campaign.Status.RUNNING:
            raise errors.WrongStatus(f"campaign {campaign.id} is {campaign.status}, not running")
        campaign.status = Campaign.Status.ENDED
        campaign.save(update_fields=["status"])
    return campaign


def send(campaign_id: int, channel: str, out: Path | None = None) -> dict:
    """Send the campaign on `channel` (email, sms, post) to every treated member who consents to it:
    post writes the mailing house's CSV to `out`. Each member is contacted once per channel; a
    failed send stays failed and is retried by the next call. Returns the counts per status."""
    campaign = get_campaign(campaign_id)
    if campaign.status != Campaign.Status.RUNNING:
        raise errors.WrongStatus(f"campaign {campaign.id} is {campaign.status}: launch it before sending")
    if channel not in campaign.channels or channel == "till":
        raise errors.InvalidCampaign(f"campaign {campaign.id} sends on {', '.join(campaign.channels) or 'no channel'}; "
                                     f"{channel!r} is not one it sends on (the till shows its message on identify)",
                                     field="channel")
    if channel == "post" and out is None:
        raise errors.InvalidCampaign("post: give the file the mailing house's CSV is written to", field="out")
    transport = channels.transport(channel, campaign, out)
    _prepare_contacts(campaign, channel)
    due = Contact.objects.filter(assignment__campaign=campaign, channel=channel,
                                 status__in=[Contact.Status.PENDING, Contact.Status.FAILED])
    for batch in _batches(due.order_by("id").values_list("id", flat=True)):
        _send_batch(batch, transport)
    transport.close()
    return contact_counts(campaign, channel)


def till_messages(customer_id: int) -> list[dict]:
    """The running campaigns' messages for a member at the till (treated members only; the
    holdout sees nothing), each recorded once as a till contact. Rows: campaign, message, offers."""
    assignments = (Assignment.objects.filter(customer_id=customer_id, group=Assignment.Group.TREATED,
                                             campaign__status=Campaign.Status.RUNNING)
                   .select_related("campaign").order_by("campaign_id"))
    shown = []
    for assignment in assignments:
        campaign = assignment.campaign
        if "till" not in campaign.channels:
            continue
        with transaction.atomic():
            Contact.objects.get_or_create(assignment=assignment, channel="till",
                                          defaults={"status": Contact.Status.SENT, "sent_at": timezone.now(),
                                                    "attempts": 1})
        shown.append({"campaign": campaign.id, "message": campaign.message,
                      "offers": sorted(campaign.offers.values_list("code", flat=True))})
    return shown


def get_campaign(campaign_id: int) -> Campaign:
    """The campaign (UnknownCampaign when there is none)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise errors.UnknownCampaign(f"no campaign {campaign_id}")
    return campaign


def group_counts(campaign: Campaign) -> dict:
    """Members assigned per group: {"treated": n, "holdout": n}."""
    counted = campaign.assignments.values_list("group").annotate(members=Count("id")).order_by()
    return {group: 0 for group in Assignment.Group.values} | dict(counted)


def contact_counts(campaign: Campaign, channel: str | None = None) -> dict:
    """Contacts per status (sent, failed, pending, skipped), on one channel or all."""
    contacts = Contact.objects.filter(assignment__campaign=campaign)
    if channel:
        contacts = contacts.filter(channel=channel)
    counted = contacts.values_list("status").annotate(contacts=Count("id")).order_by()
    return {status: 0 for status in Contact.Status.values} | dict(counted)


def _locked(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise errors.UnknownCampaign(f"no campaign {campaign_id}")
    return campaign


def _differs(campaign: Campaign, name: str, value) -> bool:
    current = getattr(campaign, name)
    try:
        return Decimal(str(current)) != Decimal(str(value)) if name == "holdout_share" else current != value
    except InvalidOperation:
        return True


def _checked(values: dict) -> dict:
    """The campaign's fields checked and normalised; a CampaignError naming the first wrong one."""
    values.pop("offer_codes", None)
    if not str(values.get("name", "")).strip():
        raise errors.InvalidCampaign("a campaign needs a name", field="name")
    if values.get("goal_metric") not in METRICS:
        raise errors.InvalidCampaign(f"unknown goal metric {values.get('goal_metric')!r}; valid: {', '.join(METRICS)}",
                                     field="goal_metric")
    if not values.get("window_start") or not values.get("window_end"):
        raise errors.InvalidCampaign("a SMART goal is time-bound: give the measurement window's start and end",
                                     field="window_end" if values.get("window_start") else "window_start")
    if values["window_end"] < values["window_start"]:
        raise errors.InvalidCampaign("the window ends before it starts", field="window_end")
    share = values.get("holdout_share")
    share = Decimal(str(settings().campaign_holdout)) if share is None else Decimal(str(share))
    if not Decimal("0") <= share <= Decimal("0.5"):
        raise errors.InvalidCampaign(f"a holdout of {share:.1%} is outside 0% to 50%", field="holdout_share")
    values["holdout_share"] = share
    chosen = tuple(values.get("channels") or ())
    wrong = [c for c in chosen if c not in CHANNELS]
    if wrong:
        raise errors.InvalidCampaign(f"unknown channel {wrong[0]!r}; valid: {', '.join(CHANNELS)}", field="channels")
    values["channels"] = list(dict.fromkeys(chosen))
    strata = [column.strip() for column in str(values.get("strata") or "").split(",") if column.strip()]
    wrong = [column for column in strata if column not in PROFILE_COLUMNS or column == "customer_id"]
    if wrong:
        raise errors.InvalidCampaign(f"cannot stratify by {wrong[0]!r}: use profile columns such as pyramid_level, "
                                     "rfm_segment, lifecycle_stage, value_tier", field="strata")
    values["strata"] = ",".join(strata)
    for name in ("fixed_cost", "cost_per_contact"):
        if Decimal(str(values.get(name) or 0)) < 0:
            raise errors.InvalidCampaign(f"{name} cannot be negative", field=name)
    if not Decimal("0") <= Decimal(str(values.get("margin_rate"))) <= Decimal("1"):
        raise errors.InvalidCampaign("the margin rate is a share between 0 and 1", field="margin_rate")
    _parse_audience(values["audience"], "audience")
    if values.get("trigger"):
        _parse_audience(values["trigger"], "trigger")
    return values


def _parse_audience(text: str, field: str):
    """The parsed expression; BadAudience saying which word is wrong and which values exist."""
    if not str(text).strip():
        raise errors.BadAudience(f"the {field} is empty: give a segment expression such as lifecycle=decline",
                                 field=field)
    try:
        con = connect()
        parsed = parse_segment(con, text)
        if "loyalty_tier" in parsed.fields():
            from clientele.members.selectors import loyalty_tiers

            parsed = parse_segment(con, text, loyalty_tiers=loyalty_tiers()[0])
        return parsed
    except SegmentError as error:
        raise errors.BadAudience(str(error), field=field) from None


def _draw(campaign: Campaign, expression: str):
    """The members `expression` names in the last refresh, with their stratum and group."""
    import ibis

    parsed = _parse_audience(expression, "audience")
    supplied = {}
    if "loyalty_tier" in parsed.fields():
        from clientele.members.selectors import loyalty_tiers

        supplied["loyalty_tiers"] = ibis.memtable(loyalty_tiers()[1],
                                                  schema={"customer_id": "int64", "loyalty_tier": "string"})
    con = connect()
    members = segment_members(con, parsed, supplied=supplied)
    return draw_audience(members, read_result(con, "customer_profiles"), campaign.strata.split(","),
                         campaign.seed, float(campaign.holdout_share))


#: The columns an assignment is stored with, in the order `_store_assignments` writes them.
ASSIGNMENT_COLUMNS = ("campaign_id", "customer_id", "group", "stratum", "joined", "assigned_at")


def _store_assignments(campaign: Campaign, groups: pa.Table, joined: str, now) -> None:
    """Write the assignments of `groups` (customer_id, treated, stratum) in the caller's transaction,
    set-based: on PostgreSQL one COPY of a CSV built by Arrow (no Python loop over the rows), on
    SQLite one prepared INSERT run over every row. The database's triggers and keys apply as to any
    insert (an assignment is never changed; one per member and campaign)."""
    if groups.num_rows == 0:
        return
    table = connection.ops.quote_name(Assignment._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in ASSIGNMENT_COLUMNS)
    group = pc.if_else(groups.column("treated"), Assignment.Group.TREATED.value, Assignment.Group.HOLDOUT.value)
    stratum = pc.fill_null(groups.column("stratum").cast(pa.string()), "")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = pa.table({"campaign_id": pa.array(np.full(groups.num_rows, campaign.id, dtype=np.int64)),
                             "customer_id": groups.column("customer_id").cast(pa.int64()), "group": group,
                             "stratum": stratum,
                             "joined": pa.array(np.full(groups.num_rows, joined, dtype=object), pa.string()),
                             "assigned_at": pa.array(np.full(groups.num_rows, now.isoformat(), dtype=object),
                                                     pa.string())})
            buffer = io.BytesIO()
            pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
            view = buffer.getbuffer()
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                for offset in range(0, len(view), 1 << 22):
                    copy.write(view[offset:offset + (1 << 22)])
            view.release()
        else:
            assigned_at = connection.ops.adapt_datetimefield_value(now)
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(ASSIGNMENT_COLUMNS))})",
                zip(itertools.repeat(campaign.id), groups.column("customer_id").to_pylist(), group.to_pylist(),
                    stratum.to_pylist(), itertools.repeat(joined), itertools.repeat(assigned_at)))


def _offers(codes):
    from clientele.offers.models import Offer

    offers = list(Offer.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {offer.code for offer in offers})
    if missing:
        raise errors.InvalidCampaign(f"no offer {missing[0]!r}", field="offer_codes")
    return offers


def _prepare_contacts(campaign: Campaign, channel: str) -> None:
    """One contact per treated member not yet contacted on `channel`: pending when the member
    consents and has an address for it, skipped otherwise (one transaction)."""
    reachable = set(channels.reachable_customer_ids(campaign, channel))
    with transaction.atomic():
        waiting = (campaign.assignments.filter(group=Assignment.Group.TREATED)
                   .exclude(contacts__channel=channel).values_list("id", "customer_id"))
        Contact.objects.bulk_create(
            (Contact(assignment_id=assignment_id, channel=channel,
                     status=Contact.Status.PENDING if customer_id in reachable else Contact.Status.SKIPPED)
             for assignment_id, customer_id in waiting.iterator()), batch_size=5000)


def _batches(ids, size: int = 500):
    batch = []
    for contact_id in ids.iterator():
        batch.append(contact_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _send_batch(contact_ids: list[int], transport: channels.Transport) -> None:
    """Send one batch: the contacts locked (a second sender skips them), consent read again, each
    message handed to the channel, then marked sent or failed, in one transaction."""
    with transaction.atomic():
        contacts = list(Contact.objects.select_for_update(skip_locked=True)
                        .filter(id__in=contact_ids, status__in=[Contact.Status.PENDING, Contact.Status.FAILED])
                        .select_related("assignment__campaign"))
        if not contacts:
            return
        campaign = contacts[0].assignment.campaign
        addresses = channels.addresses(campaign, contacts[0].channel, [c.assignment.customer_id for c in contacts])
        now = timezone.now()
        for contact in contacts:
            address = addresses.get(contact.assignment.customer_id)
            if address is None:  # consent withdrawn since the contact was prepared
                contact.status, contact.last_error = Contact.Status.SKIPPED, "no consent or no address at send time"
                continue
            contact.attempts += 1
            error = transport.deliver(contact, address)
            if error is None:
                contact.status, contact.sent_at, contact.last_error = Contact.Status.SENT, now, ""
            else:
                contact.status, contact.last_error = Contact.Status.FAILED, error[:300]
        Contact.objects.bulk_update(contacts, ["status", "attempts", "last_error", "sent_at"])
