"""The portal's Celery app for bench/sync_bench.py, plus a "ready" file.

    celery -A bench._bench_worker worker ...

The same app object as `celery -A portal` (tasks, settings, Django fix-up); the only
addition is that the worker touches $BENCH_READY_FILE once it consumes, so the bench can
run it at --loglevel=WARNING (no per-task log lines) and still know when it is ready.
"""

import os
from pathlib import Path

from celery.signals import worker_ready

from portal.celery import app

__all__ = ["app"]


@worker_ready.connect
def _touch_ready_file(**kwargs) -> None:
    path = os.environ.get("BENCH_READY_FILE")
    if path:
        Path(path).touch()
