"""The operator's view: /healthz, /readyz, /metrics, and logs a collector can read.

Nothing here changes what the portal does; it only tells how it is doing. The outbox
and the readings engine report into it through a few one-line calls (metrics.py), and
what the database already knows (rows by state, the oldest due row, the forwarding lag)
is read when Prometheus scrapes (collectors.py).
"""
