"""Prepare a served member portal for the browser tests (run as a script in its own process, with
CLIENTELE_HOME and DATABASE_URL set): the default programme, Ada and Bob with their real baskets and
tiers, an offer to activate, Ada's shopping list, a review of Bob's. Prints the facts as JSON."""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientele.site.settings")


#: The back office's service agent, who looks at Ada's rewards on her customer 360.
AGENT_PASSWORD = "Agent-pass-42"


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    import portal_builders as build

    from clientele.backoffice.services import add_user
    from clientele.portal.feedback import write_review

    till_key = build.programme()
    ada = build.member(build.ADA, "Ada", "ada@example.org", "+13125550100")
    bob = build.member(build.BOB, "Bob", "bob@example.org", "+13125550111")
    build.history(till_key)
    build.offer_to_activate()
    listed = build.shopping_list(build.ADA, 7)
    review, _ = write_review(bob, build.BREAD, 2, "Bob's private opinion")
    add_user("agent", AGENT_PASSWORD, "service agent")
    print(json.dumps({"till_key": till_key, "list": listed.number, "bob_review": review.pk,
                      "ada": ada.customer_id, "bob": bob.customer_id}))


if __name__ == "__main__":
    main()
