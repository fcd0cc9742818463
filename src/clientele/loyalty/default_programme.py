"""The default programme: earning rules, tiers and rewards for a programme that was never set up.

`clientele loyalty default-programme` (run by `make run`) installs `default_programme.toml` when no
earning rule was ever saved (a rule's history outlives its deletion) and there is no tier and no
reward; otherwise it leaves the programme as it is, so a programme a user set up or changed is
never overwritten. Each entry is saved through its model, validated, and each rule as its version 1,
so everything is edited in the back office afterwards like anything a user entered.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from clientele.errors import ClienteleError
from clientele.loyalty.models import EarningRule, Programme, Reward, Tier

DEFAULT_FILE = Path(__file__).with_name("default_programme.toml")
#: The file's tables, the model each entry becomes and the field that names an entry in an error.
SECTIONS = {"tiers": (Tier, "name"), "earning_rules": (EarningRule, "name"), "rewards": (Reward, "code")}


def programme_contents() -> dict[str, int]:
    """How many earning rules, tiers and rewards the programme holds now."""
    return {"earning_rules": EarningRule.objects.count(), "tiers": Tier.objects.count(),
            "rewards": Reward.objects.count()}


def install_default_programme(path: Path = DEFAULT_FILE) -> dict:
    """Install the programme of `path` (the default one unless told otherwise) when the programme was
    never set up. Returns `installed` (False when it was left as it is) and how many earning rules,
    tiers and rewards the programme holds afterwards."""
    entries = tomllib.loads(path.read_text(encoding="utf-8"))
    with transaction.atomic():
        # The programme's row, locked: two installs started together run one after the other.
        Programme.current()
        Programme.objects.select_for_update().get(pk=1)
        if EarningRule.history.exists() or Tier.objects.exists() or Reward.objects.exists():
            return {"installed": False, **programme_contents()}
        for section, (model, label) in SECTIONS.items():
            for values in entries.get(section, []):
                entry = model(**values)
                try:
                    entry.full_clean()
                except ValidationError as error:
                    raise ClienteleError(f"{path.name}: {section} {values.get(label)!r}: "
                                         f"{'; '.join(f'{k}: {v[0]}' for k, v in error.message_dict.items())}") from None
                entry.save()
    return {"installed": True, **programme_contents()}
