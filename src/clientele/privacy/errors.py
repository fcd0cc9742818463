"""The privacy app's refusals: each names what is wrong and where (mapped once to CLI exit codes
and HTTP problems)."""

from clientele.errors import ClienteleError


class PrivacyError(ClienteleError):
    """A privacy request that cannot be carried out as asked."""


class BadConsent(PrivacyError):
    """A consent event with an unknown purpose, channel or source, or without its time or text."""


class UnknownMember(PrivacyError):
    """No member has that number (nor was it merged into one)."""


class ErasureRefused(PrivacyError):
    """The erasure cannot go ahead yet (not approved, approved by the requester, a pending complaint)."""
