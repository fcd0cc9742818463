"""The review queue in the back office (data stewards): the pairs between the thresholds side by
side with each field's agreement and weight, accept or reject; a search-and-merge by hand; the
merges with their undo. Thin: every change is one `identity.services` / `identity.merging` call;
a refusal is shown as the page's message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import F
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clientele.backoffice.views import _render
from clientele.identity import merging, quality, services
from clientele.identity.errors import IdentityError
from clientele.identity.models import CandidatePair, Merge
from clientele.members.models import Member

STEWARD = "identity.review_pairs"


@login_required
@permission_required(STEWARD, raise_exception=True)
def queue(request):
    pairs = CandidatePair.objects.filter(status=CandidatePair.Status.REVIEW).order_by("-match_probability", "pk")[:200]
    decided = CandidatePair.objects.exclude(status=CandidatePair.Status.REVIEW).order_by(
        F("decided_at").desc(nulls_last=True), "-pk")[:20]  # PostgreSQL puts NULLs (auto-links) first in DESC
    merges = Merge.objects.select_related("survivor", "absorbed").order_by("-pk")[:20]
    return _render(request, "identity/queue.html", {"pairs": pairs, "decided": decided, "merges": merges,
                                                    "counts": services.review_counts(),
                                                    "title": "Identity: review queue"})


@login_required
@permission_required(STEWARD, raise_exception=True)
def pair_page(request, pair_id: int):
    pair = CandidatePair.objects.filter(pk=pair_id).first()
    if pair is None:
        return _render(request, "backoffice/403.html", {"reason": f"no candidate pair {pair_id}",
                                                        "title": "No such pair"}, 404)
    return _render(request, "identity/pair.html", {"pair": pair, "title": f"Pair {pair.pk}"})


@login_required
@require_POST
@permission_required(STEWARD, raise_exception=True)
def decide(request, pair_id: int):
    accept = request.POST.get("decision") == "accept"
    try:
        pair = services.decide(pair_id, accept=accept, reviewer=request.user.get_username())
    except IdentityError as error:
        messages.error(request, error.message)
        return redirect("identity:queue")
    messages.success(request, f"Pair {pair.pk} {'accepted: linked' if accept else 'rejected: never proposed again'}")
    return redirect("identity:queue")


@login_required
@permission_required(STEWARD, raise_exception=True)
def quality_page(request):
    return _render(request, "identity/quality.html", {
        "counts": quality.quality_counts(), "stale": quality.stale_members(), "review": services.review_counts(),
        "title": "Identity: data quality"})


def _member(number: str) -> Member | None:
    return Member.objects.filter(customer_id=int(number)).first() if number.strip().isdigit() else None


@login_required
@permission_required(STEWARD, raise_exception=True)
def merge_page(request):
    survivor_number, absorbed_number = request.GET.get("survivor", ""), request.GET.get("absorbed", "")
    survivor, absorbed = _member(survivor_number), _member(absorbed_number)
    problem = None
    if survivor_number and survivor is None:
        problem = f"no member {survivor_number!r}"
    elif absorbed_number and absorbed is None:
        problem = f"no member {absorbed_number!r}"
    fields = ["customer_id", "status", "first_name", "last_name", "email", "phone", "birth_date", "address_line",
              "postal_code", "city", "join_date"]
    rows = [(name, getattr(survivor, name), getattr(absorbed, name)) for name in fields] if survivor and absorbed else []
    return _render(request, "identity/merge.html", {
        "survivor": survivor, "absorbed": absorbed, "rows": rows, "problem": problem,
        "survivor_number": survivor_number, "absorbed_number": absorbed_number, "title": "Identity: merge by hand"})


@login_required
@require_POST
@permission_required(STEWARD, raise_exception=True)
def merge(request):
    try:
        done = merging.merge_members(int(request.POST.get("survivor", "0")), int(request.POST.get("absorbed", "0")),
                                     actor=request.user.get_username(), reason=request.POST.get("reason", "") or
                                     "merged by hand")
    except ValueError:
        messages.error(request, "give two member numbers")
        return redirect("identity:merge_page")
    except IdentityError as error:
        messages.error(request, error.message)
        return redirect("identity:merge_page")
    messages.success(request, f"Merge {done.pk}: member {done.absorbed.customer_id} into {done.survivor.customer_id}")
    return redirect("identity:queue")


@login_required
@require_POST
@permission_required(STEWARD, raise_exception=True)
def undo(request, merge_id: int):
    try:
        done = merging.unmerge(merge_id, actor=request.user.get_username(),
                               reason=request.POST.get("reason", "") or "undone in the back office")
    except IdentityError as error:
        messages.error(request, error.message)
        return redirect("identity:queue")
    messages.success(request, f"Merge {done.pk} undone: member {done.absorbed.customer_id} is apart again")
    return redirect("identity:queue")
