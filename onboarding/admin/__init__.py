"""The Django admin: operators' and support staff's daily tool, in rooms by what staff
look at.

- base.py: what every synced model's admin shares (sync column, filters, actions,
  sections, writes through onboarding.services) and the read-only base;
- spaces.py: buildings, units and their devices;
- tenants.py: tenants, invites and their Spark parts (meters, vehicles, resources);
- sync.py: the outbox and the call log;
- catalogue.py: what smart-me and Climkit hold, and what it is linked to;
- connections.py: the platforms' connections and the "Connect zevvy" panel;
- signin.py: the sign-in throttle's locked accounts and addresses, and their unlock;
- panels.py: the sections other rooms add to a model's page (readings, a platform's
  pull or reports), registered from their own admin.py.

Every change made here goes through onboarding.services, so the outbox is marked in the
same transaction. The outbox, the call log and the platform connections are read-only
here (the only writes are "Retry sync" and "Accept as is").
"""

from . import catalogue, connections, signin, spaces, sync, tenants  # noqa: F401 (they register)
