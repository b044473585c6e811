"""What can go wrong talking to a chat service, in the words the rest of the app needs.

Each transport (``chat.slack``, ``chat.telegram``) turns every failure into
one of these, so that nothing above it handles a library's exceptions:

- ``TemporaryError``: the network, a 5xx, a rate limit: try again later.
- ``Unreachable``: this person cannot be reached there (blocked the bot, no
  such user or chat); retrying cannot help.
- ``ChatError`` (the base): anything else permanent, such as a bad token.

Messages never hold a token or a chat id.
"""

from __future__ import annotations


class ChatError(Exception):
    pass


class TemporaryError(ChatError):
    pass


class Unreachable(ChatError):
    pass


class NotConfigured(ChatError):
    pass
