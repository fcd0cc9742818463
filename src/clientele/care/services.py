"""Customer care's services: every write and every rule (views, API and CLI call these)."""

from clientele.care.cost import cost_against_value, cost_by_tier, customer_costs, customer_margins
from clientele.care.events import create_event, event_by_code, events_with_attendance, record_attendance
from clientele.care.follow_ups import (
    FollowUpRules,
    call_list,
    follow_up_summary,
    list_follow_ups,
    record_follow_up,
)

__all__ = [
    "FollowUpRules", "call_list", "cost_against_value", "cost_by_tier", "create_event", "customer_costs",
    "customer_margins", "event_by_code", "events_with_attendance", "follow_up_summary", "list_follow_ups",
    "record_attendance", "record_follow_up",
]
