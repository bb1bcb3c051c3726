"""One load-generator process: Locust ``FastHttpUser``s serving this worker's share of the schedule.

Run only as ``python -m harness.load.worker`` (the plan comes on stdin). Never import this
module into the pytest process: importing it gevent-monkey-patches the interpreter.

Open model: a dispatcher greenlet walks the arrival schedule and, at each intended time,
hands the arrival to an idle user; if none is idle the arrival is *dropped* and counted
(k6's ``dropped_iterations``), never delayed. Latency is measured from the intended time,
so a stalled target shows up in the percentiles instead of silently slowing the load.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import urllib.request  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.queue import Queue  # noqa: E402
from locust import FastHttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.event import EventHook  # noqa: E402
from locust.exception import StopUser  # noqa: E402

from harness.load import hdr  # noqa: E402
from harness.load.plan import WorkerPlan, ready_file, series_file, start_file, stop_file, summary_file  # noqa: E402
from harness.load.profile import Operation  # noqa: E402
from harness.load.schedule import Arrival, arrivals  # noqa: E402

MAX_CAPTURED = 1000  # values kept per captured variable and identity


class Recorder:
    """Per-second buckets (streamed to disk) and whole-run histograms for one worker."""

    def __init__(self, plan: WorkerPlan) -> None:
        self.plan = plan
        self.start = 0.0
        self.seconds: dict[int, dict[str, list[Any]]] = defaultdict(dict)
        self.second_lag: dict[int, Any] = {}
        self.latency: dict[str, Any] = defaultdict(hdr.new_histogram)
        self.service: dict[str, Any] = defaultdict(hdr.new_histogram)
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # requests, errors, dropped
        self.lag = hdr.new_histogram()
        self.cpu: list[float] = []
        self.flushed_upto = 0
        self.series = series_file(plan.out_dir, plan.worker_index).open("a", buffering=1)

    def _bucket(self, when: float, label: str) -> list[Any]:
        second = max(int(when - self.start), 0)
        bucket = self.seconds[second].get(label)
        if bucket is None:
            bucket = self.seconds[second][label] = [0, 0, 0, hdr.new_histogram()]
        return bucket

    def request(self, label: str, intended: float, began: float, ended: float, ok: bool) -> None:
        bucket = self._bucket(ended, label)
        bucket[0] += 1
        counts = self.counts[label]
        counts[0] += 1
        if not ok:
            bucket[1] += 1
            counts[1] += 1
        hdr.record_seconds(bucket[3], ended - intended)
        hdr.record_seconds(self.latency[label], ended - intended)
        hdr.record_seconds(self.service[label], ended - began)
        lag = began - intended
        hdr.record_seconds(self.lag, lag)
        second = max(int(began - self.start), 0)
        lag_histogram = self.second_lag.get(second)
        if lag_histogram is None:
            lag_histogram = self.second_lag[second] = hdr.new_histogram()
        hdr.record_seconds(lag_histogram, lag)

    def dropped(self, label: str) -> None:
        self._bucket(time.time(), label)[2] += 1
        self.counts[label][2] += 1

    def flush(self, upto: int, cpu: float | None) -> None:
        """Write every second below ``upto`` as JSON lines (one per label, plus a 'gen' line)."""
        for second in range(self.flushed_upto, upto):
            for label, (requests, errors, dropped, histogram) in sorted(self.seconds.pop(second, {}).items()):
                row = {"kind": "second", "t": second, "label": label, "requests": requests, "errors": errors,
                       "dropped": dropped, "latency": hdr.encode(histogram) if requests else ""}
                self.series.write(json.dumps(row) + "\n")
            lag = self.second_lag.pop(second, None)
            gen = {"kind": "gen", "t": second, "worker": self.plan.worker_index,
                   "lag_max_ms": lag.get_max_value() / 1000 if lag else 0.0}
            if cpu is not None and second == upto - 1:
                gen["cpu"] = cpu
            self.series.write(json.dumps(gen) + "\n")
        self.flushed_upto = max(self.flushed_upto, upto)

    def summary(self, scheduled: int, ended: float, stopped_early: bool) -> dict[str, Any]:
        labels = {}
        for label, (requests, errors, dropped) in self.counts.items():
            labels[label] = {"requests": requests, "errors": errors, "dropped": dropped,
                             "latency": hdr.encode(self.latency[label]) if requests else "",
                             "service": hdr.encode(self.service[label]) if requests else ""}
        return {"worker": self.plan.worker_index, "scheduled": scheduled, "started_at": self.start,
                "ended_at": ended, "stopped_early": stopped_early, "labels": labels,
                "lag": hdr.encode(self.lag) if self.lag.get_total_count() else "", "cpu": self.cpu}


class State:
    """Everything the users share inside this process (module-level: Locust creates the users)."""

    plan: WorkerPlan
    recorder: Recorder
    queue: Queue
    idle = 0
    allowed_users = 0  # closed model: how many users may run now
    in_flight = 0
    done = Event()
    tokens: dict[str, str] = {}
    last_login: dict[str, float] = {}
    captures: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    next_user_index = 0


def _post_json(url: str, body: dict[str, Any], timeout: float) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback/allowlisted
        return json.loads(response.read() or b"null")


def login(identity: str) -> str:
    plan = State.plan
    creds = plan.identities[identity]
    reply = _post_json(plan.base_url.rstrip("/") + plan.login_path,
                       {"username": creds.username, "password": creds.password}, plan.profile.timeout_s)
    State.last_login[identity] = time.time()
    return str(reply["access_token"])


def _fill(value: Any, seq: int) -> Any:
    if isinstance(value, str):
        return value.replace("{seq}", str(seq))
    if isinstance(value, dict):
        return {k: _fill(v, seq) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, seq) for v in value]
    return value


def _capture(op: Operation, identity: str, payload: Any) -> None:
    if not isinstance(payload, dict):
        return
    for var, key in op.capture.items():
        if key in payload:
            values = State.captures[identity][var]
            values.append(payload[key])
            del values[:-MAX_CAPTURED]


def _request_parts(op: Operation, seq: int, rng: random.Random) -> tuple[str, str, dict[str, str]]:
    identity = op.identities[seq % len(op.identities)] if op.identities else ""
    path = op.path
    if "{" in path:
        values = {var: rng.choice(found) for var, found in State.captures[identity].items() if found}
        path = path.format(seq=seq, **values)  # KeyError: nothing captured yet → counted as an error
    headers = dict(op.headers)
    if identity:
        headers["Authorization"] = f"Bearer {State.tokens[identity]}"
    return identity, path, headers


class GeneratorUser(FastHttpUser):
    """Serves arrivals (open model) or loops with think time (closed model)."""

    wait_time = constant(0)
    host = "http://127.0.0.1"  # replaced from the plan before spawning

    def on_start(self) -> None:
        self.index = State.next_user_index
        State.next_user_index += 1
        self.rng = random.Random(State.plan.profile.seed * 1_000_003 + self.index)
        if State.plan.profile.model == "open":
            State.idle += 1

    def send(self, op: Operation, seq: int) -> bool:
        try:
            identity, path, headers = _request_parts(op, seq, self.rng)
        except KeyError:
            return False
        body = _fill(op.json_body, seq) if op.json_body is not None else None
        response = self.client.request(op.method, path, name=op.name, headers=headers, json=body)
        status = response.status_code or 0
        ok = status in op.expect_status if op.expect_status else 200 <= status < 400
        if ok and op.capture:
            try:
                _capture(op, identity, response.json())
            except ValueError:
                pass
        if status == 401 and identity and time.time() - State.last_login.get(identity, 0) > 5:
            State.tokens[identity] = login(identity)  # token expired during a long run
        return ok

    def timed_send(self, op: Operation, seq: int) -> bool:
        State.in_flight += 1
        try:
            return self.send(op, seq)
        finally:
            State.in_flight -= 1

    @task
    def serve(self) -> None:
        profile = State.plan.profile
        if profile.model == "open":
            arrival: Arrival | None = State.queue.get()
            if arrival is None:
                raise StopUser()
            op = profile.operations[arrival.op_index]
            intended = State.recorder.start + arrival.offset_s
            began = time.time()
            ok = self.timed_send(op, arrival.seq)
            State.recorder.request(op.name, intended, began, time.time(), ok)
            State.idle += 1
            return
        if State.done.is_set():
            raise StopUser()
        if self.index >= State.allowed_users:
            gevent.sleep(0.05)
            return
        op = self.rng.choices(profile.operations, weights=[o.weight for o in profile.operations])[0]
        began = time.time()
        ok = self.timed_send(op, self.rng.randrange(1 << 30))
        State.recorder.request(op.name, began, began, time.time(), ok)
        if profile.think_time_s:
            gevent.sleep(profile.think_time_s)


def dispatch_open(stop: Event) -> int:
    """Hand each arrival to an idle user at its intended time; count it dropped if none is idle."""
    recorder, ops = State.recorder, State.plan.profile.operations
    scheduled = due_in_a_row = 0
    for arrival in arrivals(State.plan.profile, State.plan.worker_index, State.plan.workers):
        delay = recorder.start + arrival.offset_s - time.time()
        if delay > 0:
            gevent.sleep(delay)
            due_in_a_row = 0
        else:  # already due: dispatch a small batch before yielding to the users (cheaper at high rates)
            due_in_a_row += 1
            if due_in_a_row % 16 == 0:
                gevent.sleep(0)
        if stop.is_set():
            break
        scheduled += 1
        if State.idle > 0:
            State.idle -= 1
            State.queue.put(arrival)
        else:
            recorder.dropped(ops[arrival.op_index].name)
    return scheduled


def drive_closed(stop: Event) -> int:
    """Closed model: follow the stages' user counts (linear ramps), one adjustment per 0.1 s."""
    profile, start = State.plan.profile, State.recorder.start
    previous = 0
    stage_start = 0.0
    for stage in profile.stages:
        users = int(stage.users or 0)
        while not stop.is_set() and (elapsed := time.time() - start - stage_start) < stage.duration_s:
            level = previous + (users - previous) * elapsed / stage.duration_s if stage.ramp else users
            share = int(level) // State.plan.workers + (State.plan.worker_index < int(level) % State.plan.workers)
            State.allowed_users = share
            stop.wait(0.1)
        stage_start += stage.duration_s
        previous = users
    State.allowed_users = 0
    return 0


def run(plan: WorkerPlan) -> None:
    State.plan = plan
    State.queue = Queue()
    State.recorder = recorder = Recorder(plan)
    for identity in sorted(plan.profile.identity_names()):
        State.tokens[identity] = login(identity)
    for op in plan.profile.setup:  # once per identity, not measured (e.g. create something to read)
        for identity in op.identities or [""]:
            headers = {"Authorization": f"Bearer {State.tokens[identity]}"} if identity else {}
            request = urllib.request.Request(
                plan.base_url.rstrip("/") + op.path, method=op.method,
                data=json.dumps(_fill(op.json_body, 0)).encode() if op.json_body is not None else None,
                headers={"Content-Type": "application/json", **headers, **op.headers})
            with urllib.request.urlopen(request, timeout=plan.profile.timeout_s) as response:  # noqa: S310
                _capture(op, identity, json.loads(response.read() or b"null"))

    GeneratorUser.host = plan.base_url.rstrip("/")
    GeneratorUser.network_timeout = plan.profile.timeout_s
    GeneratorUser.connection_timeout = plan.profile.timeout_s
    env = Environment(user_classes=[GeneratorUser], host=GeneratorUser.host)
    runner = env.create_local_runner()
    # Locust's own stats listener is replaced: our HDR recorder is the only aggregation paid per request.
    env.events.request = EventHook()
    runner.start(plan.users, spawn_rate=max(plan.users * 20, 100))
    deadline = time.time() + 30
    while State.next_user_index < plan.users and time.time() < deadline:
        gevent.sleep(0.02)

    ready_file(plan.out_dir, plan.worker_index).write_text(str(State.next_user_index))
    start_path, stop_path = start_file(plan.out_dir), stop_file(plan.out_dir)
    deadline = time.time() + 120
    while not start_path.exists():
        if time.time() > deadline or stop_path.exists():
            runner.quit()
            return
        gevent.sleep(0.01)
    recorder.start = float(start_path.read_text())
    gevent.sleep(max(recorder.start - time.time(), 0))

    stop, finished = Event(), Event()
    process = psutil.Process()
    process.cpu_percent(None)

    def watch_stop() -> None:
        while not finished.is_set():
            if stop_path.exists():
                stop.set()
            finished.wait(0.1)

    def flush_each_second() -> None:
        second = 1
        while not finished.wait(max(recorder.start + second + 0.02 - time.time(), 0)):
            cpu = process.cpu_percent(None)
            recorder.cpu.append(cpu)
            recorder.flush(second, cpu)
            second += 1

    watchers = [gevent.spawn(watch_stop), gevent.spawn(flush_each_second)]
    scheduled = (dispatch_open if plan.profile.model == "open" else drive_closed)(stop)
    State.done.set()
    # Let in-flight requests finish (bounded by the request timeout), then release the users.
    deadline = time.time() + plan.profile.timeout_s + 1
    open_model = plan.profile.model == "open"
    while (State.in_flight > 0 or (open_model and State.idle < State.next_user_index)) and time.time() < deadline:
        gevent.sleep(0.01)
    for _ in range(plan.users):
        State.queue.put(None)
    ended = time.time()
    finished.set()
    gevent.joinall(watchers, timeout=2)
    recorder.flush(int(ended - recorder.start) + 1, None)
    summary = recorder.summary(scheduled, ended, stop.is_set())
    target = summary_file(plan.out_dir, plan.worker_index)
    target.with_suffix(".tmp").write_text(json.dumps(summary))
    target.with_suffix(".tmp").replace(target)
    # No runner.quit(): stopping hundreds of users takes a second; main() ends the process at once.


def main() -> int:
    plan = WorkerPlan.model_validate_json(sys.stdin.read())
    try:
        run(plan)
    except Exception:  # the parent reads this log and shows it with the failure
        traceback.print_exc()
        return 3
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown of the gevent hub and idle users: results are on disk
