"""Segment expressions: one parser for the CLI, the back office and campaigns.

An expression names customers by their nightly results, combined with AND, OR, NOT and
parentheses (NOT binds tightest, then AND, then OR)::

    pyramid=VIP OR (rfm=champions AND NOT lifecycle=decline)
    value_tier=gold AND cell="COLD CEREAL/national/high"
    trait=dog AND NOT at_risk
    offer_trait=young_children               # only where the trait may drive an offer

A condition is FIELD=VALUE (see `VOCABULARY`); a flag (narrow, gone_top, at_risk) stands alone.
Names and values are matched without regard to case and written back in their canonical spelling;
an unknown field or value is a `SegmentError` that lists the valid ones. A value holding spaces
runs to the next AND/OR or closing parenthesis; quote it ("...") when it holds those itself.
The value tier (`value_tier`: platinum, gold, iron, lead, by predicted lifetime value) and the
loyalty programme's tier (`loyalty_tier`, whose names the programme defines) are two fields; a
bare `tier` is refused as ambiguous.

Use::

    segment = parse("pyramid=vip or rfm=champions")       # raises SegmentError on a mistake
    segment.members(profiles, tables)                     # the profiles of its customers (Ibis)
    segment.fields()                                      # {"pyramid", "rfm"}
    VOCABULARY.describe()                                 # every field with its valid values

`profiles` is the nightly `customer_profiles` table; `tables(name)` returns another result table
by name (`brand_loyalty`, `traits`, `lifecycle`, `narrow_baskets`, `year_over_year`, and
`loyalty_tiers` - customer_id, loyalty_tier - which the operational side supplies).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import ibis

from clientele.analytics.brand_loyalty import BRAND_LOYALTIES, USAGES
from clientele.analytics.lifecycle import EXIT_PATTERNS, STAGES
from clientele.analytics.pyramid import LEVELS
from clientele.analytics.rfm import SEGMENTS
from clientele.analytics.traits import TRAITS
from clientele.analytics.value import VALUE_CLASSES, VALUE_TIERS
from clientele.errors import ClienteleError

PROFILES = "customer_profiles"
Tables = Callable[[str], ibis.Table]


class SegmentError(ClienteleError):
    """A segment expression that cannot be read, or names a field or value that does not exist."""

    code = "bad_segment"


@dataclass(frozen=True)
class Field:
    """A FIELD of FIELD=VALUE: the result table and column it reads, and its valid values.

    `values` is the tuple of valid values, a function returning them (values that live in the data,
    read only when an expression uses the field), or None when any value is accepted as it is.
    """

    name: str
    table: str
    column: str
    values: tuple[str, ...] | Callable[[], Sequence[str]] | None
    meaning: str
    also_true: str | None = None  # a boolean column of `table` that must hold too

    def valid_values(self) -> tuple[str, ...] | None:
        """The valid values of the field, or None when the field takes any value."""
        return tuple(self.values()) if callable(self.values) else self.values


@dataclass(frozen=True)
class Flag:
    """A condition that stands alone: the customers of the rows of result `table` where `holds`."""

    name: str
    table: str
    holds: Callable[[ibis.Table], ibis.BooleanValue]
    meaning: str


def _default_fields() -> dict[str, Field]:
    fields = [
        Field("rfm", PROFILES, "rfm_segment", SEGMENTS, "RFM segment of the window"),
        Field("pyramid", PROFILES, "pyramid_level", LEVELS,
              "customer pyramid level (capped spend per month of the window)"),
        Field("value_class", PROFILES, "value_class", VALUE_CLASSES, "ABC class of predicted lifetime value"),
        Field("value_tier", PROFILES, "value_tier", VALUE_TIERS, "tier of predicted lifetime value (not loyalty)"),
        Field("loyalty_tier", "loyalty_tiers", "loyalty_tier", None, "the loyalty programme's tier of the member"),
        Field("lifecycle", PROFILES, "lifecycle_stage", STAGES, "lifecycle stage"),
        Field("exit", "lifecycle", "exit_pattern", EXIT_PATTERNS, "when a lapsed customer left"),
        Field("category", "brand_loyalty", "category", None, "a product category the customer bought"),
        Field("trait", "traits", "trait", TRAITS, "household trait held (a hint; see offer_trait)", "has_trait"),
        Field("offer_trait", "traits", "trait", TRAITS,
              "household trait that may drive an offer (a rule, or a prediction of held-out precision >= 0.7)",
              "for_offers"),
    ]
    return {f.name: f for f in fields}


def _default_flags() -> dict[str, Flag]:
    flags = [
        Flag("narrow", "narrow_baskets", lambda t: t.narrow, "regular customer buying from few departments"),
        Flag("gone_top", "year_over_year", lambda t: ~t.bought_again,
             "last period's top customer who did not buy this period"),
        Flag("at_risk", PROFILES, lambda t: t.at_risk.fill_null(False), "churn risk of 0.5 or more"),
    ]
    return {f.name: f for f in flags}


#: Names kept for old expressions, and names refused with a hint.
ALIASES = {"class": "value_class", "gone-top": "gone_top", "at-risk": "at_risk"}
AMBIGUOUS = {"tier": "say value_tier= (platinum, gold, iron, lead: predicted lifetime value) "
                     "or loyalty_tier= (the loyalty programme's tier)"}


@dataclass(frozen=True)
class Vocabulary:
    """The fields and flags an expression may use. `with_values` fills the values that live in
    the data (categories, loyalty tier names) so they are checked too."""

    fields: dict[str, Field] = field(default_factory=_default_fields)
    flags: dict[str, Flag] = field(default_factory=_default_flags)

    def with_values(self, name: str, values: Sequence[str] | Callable[[], Sequence[str]]) -> Vocabulary:
        """This vocabulary with `name`'s valid values set (a sequence, or a function read lazily)."""
        fields = dict(self.fields)
        fields[name] = replace(fields[name], values=values if callable(values) else tuple(values))
        return Vocabulary(fields, self.flags)

    def describe(self) -> list[tuple[str, str, tuple[str, ...] | None]]:
        """Every field and flag: (how to write it, its meaning, its valid values or None)."""
        fields = [(f"{f.name}=VALUE", f.meaning, f.valid_values()) for f in self.fields.values()]
        fields.append(("cell=CATEGORY/LOYALTY/USAGE", f"brand loyalty ({', '.join(BRAND_LOYALTIES)}) x usage "
                       f"({', '.join(USAGES)}) in a category", None))
        return fields + [(f.name, f.meaning, None) for f in self.flags.values()]

    def canonical(self, name: str, value: str) -> str:
        """`value` of field `name` in the spelling of the valid value it matches without regard to
        case (as it is when the field takes any value); SegmentError listing the valid ones if none."""
        valid = self.fields[name].valid_values()
        return value if valid is None else _match(value, valid, name, SegmentError)

    def field_names(self) -> list[str]:
        """Every name an expression may start a condition with."""
        return [*self.fields, "cell", *self.flags]


VOCABULARY = Vocabulary()


class Segment:
    """A parsed segment expression: the customers it names, read from the nightly results."""

    def predicate(self, profiles: ibis.Table, tables: Tables) -> ibis.BooleanValue:
        """True on the rows of `profiles` (one per customer) whose customer is in the segment."""
        raise NotImplementedError

    def fields(self) -> set[str]:
        """The names of the fields and flags the expression uses."""
        raise NotImplementedError

    def members(self, profiles: ibis.Table, tables: Tables) -> ibis.Table:
        """The rows of `profiles` whose customer is in the segment."""
        return profiles.filter(self.predicate(profiles, tables))


def _in(profiles: ibis.Table, chosen: ibis.Table) -> ibis.BooleanValue:
    return profiles.customer_id.isin(chosen.customer_id)


@dataclass(frozen=True)
class Condition(Segment):
    """FIELD=VALUE with the value in its canonical spelling."""

    field: Field
    value: str

    def predicate(self, profiles, tables):
        if self.field.table == PROFILES:
            return profiles[self.field.column] == self.value
        table = tables(self.field.table)
        chosen = table.filter(table[self.field.column] == self.value)
        if self.field.also_true:
            chosen = chosen.filter(chosen[self.field.also_true])
        return _in(profiles, chosen)

    def fields(self):
        return {self.field.name}

    def __str__(self):
        return f'{self.field.name}="{self.value}"'


@dataclass(frozen=True)
class Cell(Segment):
    """cell=CATEGORY/LOYALTY/USAGE: one of a category's nine brand-loyalty x usage cells."""

    category: str
    loyalty: str
    usage: str

    def predicate(self, profiles, tables):
        cells = tables("brand_loyalty")
        chosen = cells.filter((cells.category == self.category) & (cells.brand_loyalty == self.loyalty)
                              & (cells.usage == self.usage))
        return _in(profiles, chosen)

    def fields(self):
        return {"cell"}

    def __str__(self):
        return f'cell="{self.category}/{self.loyalty}/{self.usage}"'


@dataclass(frozen=True)
class FlagCondition(Segment):
    flag: Flag

    def predicate(self, profiles, tables):
        if self.flag.table == PROFILES:
            return self.flag.holds(profiles)
        table = tables(self.flag.table)
        return _in(profiles, table.filter(self.flag.holds(table)))

    def fields(self):
        return {self.flag.name}

    def __str__(self):
        return self.flag.name


@dataclass(frozen=True)
class Not(Segment):
    operand: Segment

    def predicate(self, profiles, tables):
        return ~self.operand.predicate(profiles, tables)

    def fields(self):
        return self.operand.fields()

    def __str__(self):
        return f"NOT {self.operand}"


@dataclass(frozen=True)
class Combined(Segment):
    """Operands joined by AND or OR."""

    operator: str
    operands: tuple[Segment, ...]

    def predicate(self, profiles, tables):
        predicates = [operand.predicate(profiles, tables) for operand in self.operands]
        combined = predicates[0]
        for predicate in predicates[1:]:
            combined = (combined & predicate) if self.operator == "AND" else (combined | predicate)
        return combined

    def fields(self):
        return set().union(*(operand.fields() for operand in self.operands))

    def __str__(self):
        return "(" + f" {self.operator} ".join(str(operand) for operand in self.operands) + ")"


_OPERATOR = re.compile(r"(AND|OR|NOT)(?=[\s(]|$)", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_BARE_VALUE_END = re.compile(r"\)|\s+(AND|OR)(?=[\s(]|$)", re.IGNORECASE)


def parse(text: str, vocabulary: Vocabulary = VOCABULARY) -> Segment:
    """The segment `text` names (see the module's doc); raises SegmentError saying what is wrong
    and where (the character's position, from 1) on an expression that cannot be read."""
    parser = _Parser(text, vocabulary)
    segment = parser.expression()
    parser.skip_space()
    if parser.at < len(text):
        raise parser.error("expected AND, OR or the end of the expression")
    return segment


class _Parser:
    """Recursive descent over the text: expression := term (OR term)*; term := factor (AND factor)*;
    factor := NOT factor | ( expression ) | condition."""

    def __init__(self, text: str, vocabulary: Vocabulary):
        self.text, self.vocabulary, self.at = text, vocabulary, 0

    def error(self, message: str) -> SegmentError:
        where = f"at character {self.at + 1}" if self.at < len(self.text) else "at the end"
        return SegmentError(f"segment {self.text!r} {where}: {message}")

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def operator(self, name: str) -> bool:
        self.skip_space()
        found = _OPERATOR.match(self.text, self.at)
        if found and found.group(1).upper() == name:
            self.at = found.end()
            return True
        return False

    def expression(self) -> Segment:
        operands = [self.term()]
        while self.operator("OR"):
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Combined("OR", tuple(operands))

    def term(self) -> Segment:
        operands = [self.factor()]
        while self.operator("AND"):
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else Combined("AND", tuple(operands))

    def factor(self) -> Segment:
        if self.operator("NOT"):
            return Not(self.factor())
        self.skip_space()
        if self.text.startswith("(", self.at):
            self.at += 1
            inner = self.expression()
            self.skip_space()
            if not self.text.startswith(")", self.at):
                raise self.error("expected a closing parenthesis")
            self.at += 1
            return inner
        return self.condition()

    def condition(self) -> Segment:
        name_match = _NAME.match(self.text, self.at)
        if not name_match or _OPERATOR.match(self.text, self.at):
            raise self.error(f"expected a condition such as pyramid=VIP; fields: {', '.join(self.vocabulary.field_names())}")
        typed = name_match.group(0).lower()
        name = ALIASES.get(typed, typed).replace("-", "_")
        if name in AMBIGUOUS:
            raise self.error(f"{typed!r} is ambiguous: {AMBIGUOUS[name]}")
        if name not in self.vocabulary.flags and name != "cell" and name not in self.vocabulary.fields:
            raise self.error(f"unknown field {typed!r}; valid: {', '.join(self.vocabulary.field_names())}")
        self.at = name_match.end()
        self.skip_space()
        if name in self.vocabulary.flags:
            return FlagCondition(self.vocabulary.flags[name])
        if not self.text.startswith("=", self.at):
            raise self.error(f"expected = and a value after {typed!r}")
        self.at += 1
        self.skip_space()
        value_at = self.at
        value = self.value()
        end, self.at = self.at, value_at  # an unknown value is reported where it starts
        segment = self.cell(value) if name == "cell" else Condition(self.vocabulary.fields[name],
                                                                     self.canonical(name, value))
        self.at = end
        return segment

    def value(self) -> str:
        self.skip_space()
        if self.at < len(self.text) and self.text[self.at] in "\"'":
            quote = self.text[self.at]
            end = self.text.find(quote, self.at + 1)
            if end < 0:
                raise self.error(f"the quoted value has no closing {quote}")
            value, self.at = self.text[self.at + 1:end], end + 1
        else:
            end = _BARE_VALUE_END.search(self.text, self.at)
            stop = end.start() if end else len(self.text)
            value, self.at = self.text[self.at:stop].strip(), stop
        if not value.strip():
            raise self.error("expected a value after =")
        return value.strip()

    def canonical(self, name: str, value: str) -> str:
        try:
            return self.vocabulary.canonical(name, value)
        except SegmentError as unknown:
            raise self.error(str(unknown)) from None

    def cell(self, value: str) -> Segment:
        parts = value.rsplit("/", 2)
        if len(parts) != 3:
            raise self.error("a cell is CATEGORY/LOYALTY/USAGE, such as cell=COLD CEREAL/national/high")
        category, loyalty, usage = (part.strip() for part in parts)
        try:
            return Cell(self.vocabulary.canonical("category", category),
                        _match(loyalty, BRAND_LOYALTIES, "brand loyalty", SegmentError),
                        _match(usage, USAGES, "usage", SegmentError))
        except SegmentError as unknown:
            raise self.error(str(unknown)) from None


def _match(value: str, valid: Sequence[str], what: str, error: Callable[[str], SegmentError]) -> str:
    """The valid value equal to `value` without regard to case; else the error listing the valid
    values (the closest ones first when there are many)."""
    by_case = {candidate.casefold(): candidate for candidate in valid}
    if value.casefold() in by_case:
        return by_case[value.casefold()]
    if len(valid) <= 12:
        raise error(f"unknown {what} {value!r}; valid: {', '.join(valid)}")
    close = difflib.get_close_matches(value.upper(), [v.upper() for v in valid], n=5, cutoff=0.5)
    hint = f"closest: {', '.join(by_case[c.casefold()] for c in close)}" if close else "none is close"
    raise error(f"unknown {what} {value!r} ({len(valid)} valid; {hint})")
