"""Event contracts: the only facts services share."""

from shared.contracts.envelope import Envelope
from shared.contracts.registry import EVENT_TYPES, TOPICS, dlq_topic, make_envelope, parse_as, parse_body, topic_of

__all__ = ["EVENT_TYPES", "TOPICS", "Envelope", "dlq_topic", "make_envelope", "parse_as", "parse_body", "topic_of"]
