"""The scheduler (APScheduler 3, jobs in the product's database) and the worker that runs queued scans as
subprocesses. Stopping is clean: a running scan gets SIGINT (Scrapy finishes what is in flight and marks
the scan interrupted), its request goes back to the queue, and the next start resumes it."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from core.config import Config, cron_trigger, database_url
from scanner.rescans import FAILED, FINISHED, QUEUED, claim_next, finish, requeue_interrupted
from scanner.scans import mark_interrupted
from scanner.store.db import Store
from scanner.store.models import RescanRequest

log = logging.getLogger("beian.serve")
STOP_GRACE_S = 60
JOBS = (("nightly_scan", "nightly_scan"), ("sweep", "sweep"), ("weekly_report", "weekly_report"))


@dataclass
class Running:
    request_id: int
    process: subprocess.Popen
    started: float
    log_path: Path


class Service:
    def __init__(self, config: Config, config_path: str | None, store: Store) -> None:
        self.config = config
        self.config_path = config_path or ""
        self.store = store
        self.running: dict[int, Running] = {}
        self.stopping = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self._worker: threading.Thread | None = None
        self.sites_done = 0

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        requeued = requeue_interrupted(self.store)
        if requeued:
            log.warning("%d scan requests left running by the last server were queued again", requeued)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=database_url(self.config), tablename="apscheduler_jobs")},
            timezone="Asia/Shanghai",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.start(paused=True)
        self._install_jobs()
        self.scheduler.resume()  # a run missed while we were down is due now: it runs once (coalesce)
        self._worker = threading.Thread(target=self._work, name="scan-worker", daemon=True)
        self._worker.start()

    def _install_jobs(self) -> None:
        assert self.scheduler is not None
        for job_id, setting in JOBS:
            expression = getattr(self.config.serve, setting)
            existing = self.scheduler.get_job(job_id)
            if not expression:
                if existing is not None:
                    existing.remove()
                continue
            trigger = cron_trigger(expression)
            if existing is not None and str(existing.trigger) == str(trigger) and existing.args == (self.config_path,):
                continue  # keep its stored next run time, so a missed run is not forgotten
            if existing is not None:
                existing.remove()
            self.scheduler.add_job(f"scanner.serve.jobs:{job_id}", trigger, args=(self.config_path,), id=job_id,
                                   name=job_id)

    def stop(self) -> None:
        self.stopping.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        for item in list(self.running.values()):
            if item.process.poll() is None:
                item.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        for item in list(self.running.values()):
            try:
                item.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                item.process.kill()
                item.process.wait()
            mark_interrupted(self.store, item.process.pid)
            finish(self.store, item.request_id, QUEUED)  # resumed by the next start
        self.running.clear()
        if self._worker is not None:
            self._worker.join(10)

    # -- the queue ---------------------------------------------------------------------------------------
    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                self._reap()
                while len(self.running) < self.config.serve.max_parallel_scans and not self.stopping.is_set():
                    request = claim_next(self.store)
                    if request is None:
                        break
                    self._launch(request)
            except Exception:  # noqa: BLE001 - the worker must outlive a database hiccup
                log.exception("scan worker")
            self.stopping.wait(self.config.serve.poll_s)

    def _command(self, *args: str) -> list[str]:
        base = [sys.executable, "-m", "scanner.cli"]
        if self.config_path:
            base += ["--config", self.config_path]
        return base + list(args)

    def scan_args(self, request: RescanRequest) -> list[str]:
        """The `beian scan` arguments of a queued request; the nightly one on the cluster with [cluster] nightly."""
        selector = request.selector or {}
        args = ["scan", "--request", str(request.id)]
        if self.config.cluster.nightly and request.kind == "nightly":
            args.append("--distributed")  # crawled by the cluster's `beian worker` nodes; post-scan work here
        for flag, key in (("--domain", "domains"), ("--website", "websites"), ("--subject", "subjects")):
            for value in selector.get(key, []):
                args += [flag, value]
        return args

    def _launch(self, request: RescanRequest) -> None:
        args = self.scan_args(request)
        logs = Path(self.config.notices.outbox_dir).resolve().parent / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"scan-request-{request.id}.log"
        with open(log_path, "a", encoding="utf-8") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(self._command(*args), stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.running[request.id] = Running(request.id, process, time.monotonic(), log_path)
        log.info("scan request %d started (pid %d)", request.id, process.pid)

    def _reap(self) -> None:
        for request_id, item in list(self.running.items()):
            code = item.process.poll()
            if code is None or self.stopping.is_set():
                continue
            lines = item.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            error = next((line for line in reversed(lines) if line.startswith("beian:")), lines[-1] if lines else "")
            del self.running[request_id]
            if code == 0:
                finish(self.store, request_id, FINISHED)
                if self.config.serve.notices_after_scan:
                    subprocess.run(self._command("notices", "send", "--no-sweep"), capture_output=True, timeout=3600)
            else:
                finish(self.store, request_id, FAILED, error or f"exit status {code}")

