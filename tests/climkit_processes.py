"""Code the Climkit tests run in separate processes (spawned: no Django, no pytest).

Each process stands for one process of a deployment (a worker, beat, a command): its own
client, the deployment's shared budget, all started at the same moment.
"""

import time

from providers.climkit.client import ClimkitClient
from providers.ratelimit import BudgetSpec, RedisBudget, SQLiteBudget
from providers.tokens import MemoryTokenStore, Token


def budget_for(kind: str, place: str, spec: BudgetSpec):
    if kind == "redis":
        return RedisBudget(spec, place.split("|")[0], key_prefix=place.split("|")[1])
    if kind == "sqlite":
        return SQLiteBudget(spec, place)
    return None


def call_sandbox(api: str, token: tuple[str, float], kind: str, place: str, spec: BudgetSpec,
                 calls: int, barrier, results) -> None:  # fmt: skip
    """One process of a deployment: a client with the shared budget (or none), started
    together with its siblings, making `calls` reads; reports its outcomes."""
    budget = budget_for(kind, place, spec)
    store = MemoryTokenStore()
    store.refresh(lambda: Token(*token), stale=None)  # the deployment's cached token
    client = ClimkitClient(
        api, "unused", "unused", token_store=store,
        acquire=budget.acquire if budget else (lambda: None), timeout=(5, 10),
    )  # fmt: skip
    barrier.wait()
    outcomes = []
    for _ in range(calls):
        try:
            client.all_installations()
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts
            outcomes.append(f"{type(exc).__name__}: {exc} status={getattr(exc, 'status', None)}")
    results.put(outcomes)


def run_processes(api: str, token: Token, kind: str, place: str, spec: BudgetSpec,
                  processes: int, calls: int) -> list[str]:  # fmt: skip
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=call_sandbox,
            args=(api, (token.value, token.expires_at), kind, place, spec, calls, barrier, results),
        )  # fmt: skip
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 60
    outcomes = []
    for _ in workers:
        outcomes += results.get(timeout=max(1, deadline - time.monotonic()))
    for worker in workers:
        worker.join(10)
    return outcomes
