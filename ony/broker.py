"""Celery's Redis transport, made to survive losing Redis with tasks in hand.

When the broker connection drops, the worker closes its channel, and
kombu's Redis transport then tries to give back the messages it holds
unacknowledged (tasks due later, which it keeps until they are due) over the
connection that is gone: an ``AttributeError`` in kombu that stops the whole
worker, and beat with it (kombu 5.7). Here that failure is caught: the
messages stay in Redis's unacked set, from which the transport restores
them after ``visibility_timeout`` (``CELERY_BROKER_TRANSPORT_OPTIONS``),
and the worker reconnects as it does for any lost connection. Beat's sweeps
cover the work those tasks were for meanwhile (deadlines, first calls).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client: Any = None) -> Any:
        try:
            return super().restore_unacked(client)
        except (AttributeError, OSError, RedisError):  # the connection is gone
            held: dict[str, Any] = self._delivered or {}
            logger.warning(
                "lost the broker holding %d task(s); Redis gives them back later", len(held)
            )
            held.clear()
            return None


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
