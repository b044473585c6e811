"""What organizations announce to the apps built on them (connected in their ``ready()``)."""

from django.dispatch import Signal

#: A member is leaving an organization: removed (``ony.services.remove_member``)
#: or erased (``erase_member``). Sent inside that transaction, before the
#: membership is deleted or its personal fields cleared. Receivers delete
#: what their app holds about that person in that org (chat: pending links
#: and the messages sent to their chat accounts, which name those accounts).
#: Keyword argument: ``membership``.
member_leaving = Signal()
