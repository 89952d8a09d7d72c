"""Slack, live (issue 15 §2, PRODUCT.md 8): the Events API into the import's records.

A Slack message's import id is `slack:<channel>:<ts>` and its thread's `slack:<channel>:
<thread_ts>` (its own `ts` when it starts the thread), so an export of the same channel
written with those ids and re-imported later matches what came in live.
"""

SOURCE = "slack"
