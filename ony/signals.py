"""What organizations announce to the apps built on them (connected in their ``ready()``)."""

from django.dispatch import Signal

#: A member is being erased (``ony.services.erase_member``), inside its
#: transaction, before the membership's own personal fields are cleared.
#: Receivers delete what their app holds about that person in that org
#: (chat: linked accounts' pending links and the messages sent to them).
#: Keyword argument: ``membership``.
member_erasing = Signal()
