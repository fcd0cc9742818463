"""How a basket earns points, rule by rule (the evaluation order is in docs/loyalty.md).

1. Base: the most specific active base rule (a store's own rule before a chain-wide one, a tier's
   before an all-tier one, then the newest) gives points_per_unit x what the customer paid.
2. Multipliers: every active multiplier rule that matches a line adds (multiplier - 1) x that
   line's base points; the member's tier adds (tier multiplier - 1) x the base of every line.
   Multipliers add up, they do not compound: x2 and x3 on one line make x4, not x6.
3. Each rule's contribution over the basket is rounded down to whole points.
4. Caps: the lowest matching basket cap, then the lowest matching daily cap (counting what the
   member earned earlier that store-local day), cut the total.
5. The total is shared among the lines in proportion to their points (largest remainder), so a
   returned line gives back exactly what it earned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal

from clientele.loyalty.models import EarningRule, Tier

Kind = EarningRule.Kind


@dataclass(frozen=True)
class LineToEarn:
    """A basket line as the rules see it: the product and what the customer paid for it."""

    line_no: int
    product: object  # catalog.Product
    sales_value: Decimal


@dataclass(frozen=True)
class EarningContext:
    """Where, when and who: the store, store-local time, the member's tier, points earned today."""

    store_id: int
    local_time: datetime
    tier: Tier | None
    earned_today: int = 0


@dataclass
class Earning:
    """Points a basket earns: the total, each line's share, and each rule's contribution."""

    total: int = 0
    line_points: dict[int, int] = field(default_factory=dict)
    explanation: list[dict] = field(default_factory=list)


def active_rules(on: date) -> list[EarningRule]:
    """The purchase rules (base, multipliers, caps) in force on that day."""
    rules = EarningRule.objects.filter(active=True).exclude(kind=Kind.ACTION_BONUS)
    return [r for r in rules if _in_validity(r, on)]


def _in_validity(rule: EarningRule, on: date) -> bool:
    return (rule.valid_from is None or rule.valid_from <= on) and (rule.valid_until is None or on <= rule.valid_until)


def applies_to_context(rule: EarningRule, ctx: EarningContext) -> bool:
    """True when the rule's store, tier, day-of-week and time-window conditions hold."""
    if rule.store_id is not None and rule.store_id != ctx.store_id:
        return False
    if rule.tier_id is not None and (ctx.tier is None or ctx.tier.pk != rule.tier_id):
        return False
    if rule.days_of_week and str(ctx.local_time.weekday()) not in rule.days_of_week:
        return False
    if rule.time_from is not None:
        moment = ctx.local_time.time()
        if rule.time_from <= rule.time_until:
            inside = rule.time_from <= moment < rule.time_until
        else:  # a window across midnight, e.g. 22:00-06:00
            inside = moment >= rule.time_from or moment < rule.time_until
        if not inside:
            return False
    return True


def applies_to_line(rule: EarningRule, product) -> bool:
    """True when the rule's product, department, category and brand-type conditions hold."""
    return (
        (rule.product_id is None or rule.product_id == product.product_id)
        and (not rule.department or rule.department == product.department)
        and (not rule.category or rule.category == product.category)
        and (not rule.brand_type or rule.brand_type == product.brand_type)
    )


def _specificity(rule: EarningRule) -> tuple:
    return (rule.store_id is not None, rule.tier_id is not None, rule.pk)


def explain(rule: EarningRule | None, name: str, points: int) -> dict:
    """One line of a credit's explanation: the rule and the version of it that gave `points`
    (no rule for the tier's multiplier, which names itself)."""
    return {"rule_id": rule.pk if rule else None, "version": rule.version if rule else None, "rule": name,
            "points": points}


def earn_on_basket(lines: list[LineToEarn], ctx: EarningContext, rules: list[EarningRule]) -> Earning:
    """Points the basket earns under `rules`, with the rule-by-rule explanation."""
    rules = [r for r in rules if applies_to_context(r, ctx)]
    bases = [r for r in rules if r.kind == Kind.BASE]
    if not bases:
        return Earning(line_points={line.line_no: 0 for line in lines})
    base = max(bases, key=_specificity)
    line_raw: dict[int, Decimal] = {}
    per_rule: dict[str, tuple[EarningRule | None, Decimal]] = {}

    def add(key: str, rule: EarningRule | None, line_no: int, points: Decimal) -> None:
        line_raw[line_no] = line_raw.get(line_no, Decimal(0)) + points
        previous = per_rule.get(key, (rule, Decimal(0)))[1]
        per_rule[key] = (rule, previous + points)

    multipliers = [r for r in rules if r.kind == Kind.MULTIPLIER]
    tier_extra = (ctx.tier.earning_multiplier - 1) if ctx.tier is not None else Decimal(0)
    for line in lines:
        base_points = max(line.sales_value, Decimal(0)) * base.points_per_unit
        add(base.name, base, line.line_no, base_points)
        for rule in multipliers:
            if applies_to_line(rule, line.product):
                add(rule.name, rule, line.line_no, base_points * (rule.multiplier - 1))
        if tier_extra:
            add(f"tier {ctx.tier.name} x{ctx.tier.earning_multiplier.normalize()}", None, line.line_no,
                base_points * tier_extra)

    explanation = []
    for name, (rule, points) in per_rule.items():
        whole = int(points.to_integral_value(rounding=ROUND_DOWN))
        if whole:
            explanation.append(explain(rule, name, whole))
    total = max(0, sum(item["points"] for item in explanation))
    total = _apply_cap(total, [r for r in rules if r.kind == Kind.BASKET_CAP], 0, explanation)
    total = _apply_cap(total, [r for r in rules if r.kind == Kind.DAILY_CAP], ctx.earned_today, explanation)
    return Earning(total=total, line_points=_share(total, line_raw, lines), explanation=explanation)


def _apply_cap(total: int, caps: list[EarningRule], already: int, explanation: list[dict]) -> int:
    if not caps:
        return total
    cap = min(caps, key=lambda r: r.max_points)
    room = max(0, cap.max_points - already)
    if total <= room:
        return total
    explanation.append(explain(cap, cap.name, room - total))
    return room


def _share(total: int, line_raw: dict[int, Decimal], lines: list[LineToEarn]) -> dict[int, int]:
    """Whole points per line summing to `total`, in proportion to each line's raw points."""
    weight = sum(line_raw.values(), Decimal(0))
    if total == 0 or weight <= 0:
        return {line.line_no: 0 for line in lines}
    exact = {no: total * raw / weight for no, raw in line_raw.items()}
    shares = {no: int(value.to_integral_value(rounding=ROUND_DOWN)) for no, value in exact.items()}
    left = total - sum(shares.values())
    for no in sorted(exact, key=lambda n: (shares[n] - exact[n], n))[:left]:
        shares[no] += 1
    return shares


#: What a rule version says, as shown next to the points it gave.
RULE_TERMS = ("kind", "active", "valid_from", "valid_until", "points_per_unit", "multiplier", "bonus_points", "action",
              "max_points", "store_id", "tier_id", "product_id", "department", "category", "brand_type",
              "days_of_week", "time_from", "time_until")


def rule_versions_behind(explanation: list[dict]) -> list[dict]:
    """A credit's explanation with, on each line, the rule as it was in the version that gave the
    points (`terms`), when that version was saved and by whom; `terms` is None for a line without
    a rule (the tier's multiplier) or one recorded before rules were versioned."""
    wanted = {(line["rule_id"], line["version"]) for line in explanation
              if line.get("rule_id") is not None and line.get("version") is not None}
    versions = {}
    if wanted:
        found = EarningRule.history.filter(id__in={rule for rule, _ in wanted}, version__in={v for _, v in wanted})
        for record in found.select_related("history_user").order_by("history_date", "history_id"):
            versions.setdefault((record.id, record.version), record)  # the save that made the version
    lines = []
    for line in explanation:
        record = versions.get((line.get("rule_id"), line.get("version")))
        lines.append(line | {
            "terms": {term: _plain(getattr(record, term)) for term in RULE_TERMS} if record else None,
            "saved_at": record.history_date.isoformat() if record else None,
            "saved_by": (record.history_user.get_username() if record.history_user else "") if record else None,
        })
    return lines


def _plain(value):
    return value if value is None or isinstance(value, (bool, int, str)) else str(value)


def action_bonus_rule(action: str, on: date) -> EarningRule | None:
    """The active bonus rule for a non-purchase action on that day (the newest if several)."""
    rules = EarningRule.objects.filter(active=True, kind=Kind.ACTION_BONUS, action=action).order_by("-id")
    return next((r for r in rules if _in_validity(r, on)), None)
