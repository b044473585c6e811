"""What the handoffs app announces to the channels that reach people.

Handoffs never import a channel (telephony, chat): each channel connects its
receivers in its ``AppConfig.ready()``. Both signals are sent inside the
transaction that makes the change, so a receiver that talks to the outside
world enqueues its work with ``ony.queue.enqueue`` (on commit): nothing
leaves before the change commits, and nothing leaves if it rolls back.
"""

from django.dispatch import Signal

#: A handoff the org's policy routes to people (a ``PHONE_ROUTES`` route) was
#: created and waits for them. Keyword argument: ``handoff``.
routed_to_people = Signal()

#: Nobody answered a handoff routed to people: a full round of calls went by
#: without a decision, or nobody could be phoned at all (no provider, no
#: callable approver). Sent by the phone channel, for the others (chat) that
#: wait for it; may come more than once per handoff. Keyword argument: ``handoff``.
people_unreached = Signal()

#: A pending handoff left ``pending`` through ``handoffs.services.decide``
#: (any channel, the deadline or a cancel). Keyword argument: ``handoff``,
#: with its decision, ``decided_via`` and verdict set. A handoff the policy
#: decides as it is created was never pending and sends no signal.
decided = Signal()
