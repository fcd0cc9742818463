"""The service desk's service layer: every write and every rule is reached from here.

The verbs live in modules of their own (one idea each) and are gathered here so that the API, the
CLI, the admin and the back office have one place to call:

- `complaints`: record, assign, move through the workflow, compensate (goodwill points through the
  loyalty ledger, a refund note), the queue with the late first, follow-ups, the customer 360's list;
- `vouchers`: a voucher for a complaint, an offer for that member alone;
- `surveys`: define, invite a random sample, answer once per token, results, the satisfaction-loyalty curve;
- `churn`: exit reasons, churn per value tier, win-back lists and calls, the win-back rate;
- `win_back_campaigns`: a win-back list as a campaign with a control group, its rate treated vs holdout;
- `analysis`: the complaint analysis.
"""

from __future__ import annotations

from clientele.service.analysis import complaint_report, spend_before_and_after
from clientele.service.churn import (
    build_win_back_list, churn_by_tier, member_by_number, note_exit_reason, record_call, win_back_results)
from clientele.service.complaints import (
    TRANSITIONS, ComplaintIn, assign, change_status, compensate, follow_ups, give_goodwill, goodwill_limit,
    member_complaints, queue, record_complaint, record_resolution_satisfaction)
from clientele.service.surveys import (
    SurveyIn, answer_survey, create_survey, invite, open_invitation, satisfaction_loyalty, survey_results)
from clientele.service.vouchers import give_voucher, voucher_limits
from clientele.service.win_back_campaigns import win_back_by_group, win_back_campaign

__all__ = [
    "TRANSITIONS", "ComplaintIn", "SurveyIn", "answer_survey", "assign", "build_win_back_list", "change_status",
    "churn_by_tier", "compensate", "complaint_report", "create_survey", "follow_ups", "give_goodwill",
    "give_voucher", "goodwill_limit", "invite", "member_by_number", "member_complaints", "note_exit_reason",
    "open_invitation", "queue",
    "record_call", "record_complaint", "record_resolution_satisfaction", "satisfaction_loyalty",
    "spend_before_and_after", "survey_results", "voucher_limits", "win_back_by_group",
    "win_back_campaign", "win_back_results",
]
