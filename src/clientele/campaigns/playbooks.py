"""Segment playbooks: the seeds' strategy per lifecycle stage and pyramid level as template campaigns.

Each playbook is a campaign ready to launch (`services.create_from_playbook`); the marketer adjusts
its message, offers, costs and window before launching. Strategies (PRODUCT.md §3 and §5): acquire
the explorers, develop the growing, retain the stable, win back the declining and at-risk, let the
lapsed go (a last, cheap message); VIP previews and priority; spend-more coupons for growth
customers; care and comeback offers for the at-risk, after their churn reasons are known.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Playbook:
    """A template campaign: its audience, the strategy it follows and the goal it sets."""

    key: str
    name: str
    strategy: str
    audience: str
    goal_metric: str
    goal_target: str
    channels: tuple[str, ...]
    subject: str
    message: str
    window_days: int = 28
    trigger: str = ""


PLAYBOOKS = {p.key: p for p in [
    Playbook("acquire-explorers", "Acquire the explorers", "acquire", "lifecycle=exploration", "repurchase_rate",
             "0.05", ("email", "till"), "Welcome back", "Thanks for trying us: here is what members get."),
    Playbook("develop-formation", "Develop the growing customers", "develop",
             "lifecycle=formation OR pyramid=medium", "spend", "0.05", ("email", "till"),
             "Spend more, save more", "Spend-more coupon: the more you buy this month, the more you save."),
    Playbook("retain-stable", "Retain the stable customers", "retain", "lifecycle=stability AND NOT at_risk",
             "visits", "0.03", ("email", "till"), "Thank you for shopping with us", "A thank-you for your loyalty."),
    Playbook("vip-preview", "VIP previews and priority", "retain", "pyramid=VIP OR pyramid=major", "spend", "0.03",
             ("email", "post", "till"), "Your private preview",
             "Members like you see the new range first, with priority purchase."),
    Playbook("win-back-at-risk", "Win back the at-risk", "win back", "at_risk",
             "repurchase_rate", "0.05", ("email", "sms", "till"), "We miss you",
             "Tell us what we can do better: a comeback offer is waiting for you.", trigger="at_risk"),
    Playbook("win-back-decline", "Win back the declining", "win back", "lifecycle=decline", "spend", "0.05",
             ("email", "till"), "We kept your favourites", "Care offer on what you buy most.",
             trigger="lifecycle=decline"),
    Playbook("let-go-lapsed", "Let the lapsed go (one last message)", "let go", "lifecycle=lapsed",
             "reactivation_rate", "0.02", ("email",), "Still here if you need us", "One last offer, no follow-up."),
    Playbook("new-family", "New family: baby products", "develop", "trait=young_children", "spend", "0.05",
             ("email", "till"), "Congratulations", "Offers on diapers and baby food for your new family.",
             trigger="trait=young_children"),
]}
