"""What identity resolution refuses, each with a stable `code`, an HTTP status and the field at fault."""

from __future__ import annotations

from clientele.errors import RequestRefused


class IdentityError(RequestRefused):
    code = "identity_error"


class BadContactFile(IdentityError):
    """A contact file or its mapping that cannot be read at all (nothing of it is written)."""

    code, status, default_field = "bad_contact_file", 422, "file"


class UnknownMember(IdentityError):
    code, status, default_field = "unknown_member", 404, "member"


class SelfMerge(IdentityError):
    code, status, default_field = "self_merge", 422, "member"


class MemberNotMergeable(IdentityError):
    """An erased, closed or already merged member."""

    code, status, default_field = "member_not_mergeable", 409, "member"


class UnknownMerge(IdentityError):
    code, status, default_field = "unknown_merge", 404, "merge"


class MergeNotUndoable(IdentityError):
    """A merge already undone, or one whose survivor was merged on since (undo that one first)."""

    code, status, default_field = "merge_not_undoable", 409, "merge"


class UnknownPair(IdentityError):
    code, status, default_field = "unknown_pair", 404, "pair"


class PairAlreadyDecided(IdentityError):
    """Another reviewer decided the pair first."""

    code, status, default_field = "pair_already_decided", 409, "pair"
