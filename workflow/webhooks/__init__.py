"""Webhook subscriptions: other systems receive case and report events as signed HTTP deliveries.

Lives in the workflow package because workflow writes the case events, already consumes the routing
topic (report queued / merged) and owns the case rows the subscription filters (street, channel) read.
The fan-out is its own consumer group, so a slow or dead receiver never touches the case pipeline.
"""
