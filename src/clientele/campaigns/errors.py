"""What a campaign refuses, each with a stable `code`, an HTTP status and the field at fault.

The campaigns API maps them to problems in one place (`campaigns.api`); the CLI prints the message.
"""

from __future__ import annotations

from clientele.errors import RequestRefused


class CampaignError(RequestRefused):
    """A request the campaigns refuse; `field` names the part of the request at fault."""

    code = "campaign_error"


class InvalidCampaign(CampaignError):
    code, status = "invalid_campaign", 422


class BadAudience(CampaignError):
    """An audience or trigger expression that does not parse or names an unknown value."""

    code, status, default_field = "bad_audience", 422, "audience"


class UnknownCampaign(CampaignError):
    code, status, default_field = "unknown_campaign", 404, "id"


class UnknownPlaybook(CampaignError):
    code, status, default_field = "unknown_playbook", 404, "playbook"


class CampaignLocked(CampaignError):
    """A change after launch that would alter who is in which group: a new version is a new campaign."""

    code, status = "campaign_locked", 409


class WrongStatus(CampaignError):
    code, status, default_field = "wrong_status", 409, "status"


class EmptyAudience(CampaignError):
    code, status, default_field = "empty_audience", 422, "audience"


class ChannelNotConfigured(CampaignError):
    code, status, default_field = "channel_not_configured", 422, "channel"
