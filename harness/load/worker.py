"""One load-generator process: Locust ``FastHttpUser``s serving this worker's share of the schedule.

Run only as ``python -m harness.load.worker`` (the plan comes on stdin). Never import this
module into the pytest process: importing it gevent-monkey-patches the interpreter.

Open model, without a dispatcher: the schedule is a shared claim counter. A free user claims
the next arrival and sleeps until its intended time. If that time is already before the
moment the user became free, every user was busy when the arrival was due, so it is
*dropped* and counted (k6's ``dropped_iterations``), never delayed; a bookkeeper greenlet
also drops due arrivals nobody has claimed, so drops land in the second they were due.
Latency is measured from the intended time, so a stalled target shows up in the
percentiles instead of silently slowing the load.

Per request, besides Locust's ``FastHttpSession.request`` (the same call a locustfile's
``self.client.get`` makes), the hot path claims an arrival and appends one tuple; the
bookkeeper folds the tuples into per-second HDR histograms ten times a second and streams
each finished second to disk. bench/README.md has the cost per request against plain Locust.
"""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any, ClassVar  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402
from gevent.event import Event  # noqa: E402
from locust import FastHttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.event import EventHook  # noqa: E402
from locust.exception import StopUser  # noqa: E402

from harness.load.plan import WorkerPlan, ready_file, start_file, stop_file, summary_file  # noqa: E402
from harness.load.profile import Operation  # noqa: E402
from harness.load.recorder import Recorder  # noqa: E402
from harness.load.schedule import SharedSchedule, arrival_tuples  # noqa: E402
from harness.load.setup_requests import SETUP_ATTEMPTS, SetupError, open_json, send_raw  # noqa: E402
from harness.login import LoginFailed  # noqa: E402
from harness.login import login as harness_login  # noqa: E402

MAX_CAPTURED = 1000  # values kept per captured variable and identity
MAX_TRACEBACKS = 5  # unexpected errors in a request are counted as errors; the first few are logged
BOOKKEEPING_S = 0.1  # fold records into histograms / check the stop file this often
# A wait shorter than the event loop's timer resolution (libev on epoll: 1 ms) yields once before
# arming a timer: on a busy generator the next loop pass usually outlasts it (+3-4 % req/CPU-s measured
# at saturation); the arrival is still never sent before its intended time.
YIELD_FIRST_S = 0.001
GC_GEN0_THRESHOLD = 10_000  # net new container objects between young-generation collections


class State:
    """Everything the users share inside this process (module-level: Locust creates the users)."""

    plan: WorkerPlan
    recorder: Recorder
    schedule: SharedSchedule
    started = Event()  # the common start time is known
    stopping = False  # finish the request in flight, claim nothing more
    users: ClassVar[list["GeneratorUser"]] = []
    entered = 0  # users that reached the open-model loop (made their first claim)
    active = 0  # users still serving
    sent = 0  # arrivals handed to the HTTP client (open model); + dropped = scheduled
    allowed_users = 0  # closed model: how many users may run now
    done = Event()
    tokens: ClassVar[dict[str, dict[str, str]]] = {}  # identity -> auth headers
    last_login: ClassVar[dict[str, float]] = {}
    captures: ClassVar[dict[str, dict[str, list[Any]]]] = defaultdict(lambda: defaultdict(list))
    next_user_index = 0
    tracebacks = 0


def login(identity: str, attempts: int = SETUP_ATTEMPTS) -> dict[str, str]:
    """The identity's auth headers, logged in the target's way (``harness.login``); before the run a "later"
    answer is retried, mid-run (``attempts=1``) it is not."""
    plan = State.plan
    try:
        credential = harness_login(
            lambda method, path, **kw: send_raw(plan.base_url, method, path, timeout=plan.profile.timeout_s,
                                                attempts=attempts, **kw),
            plan.login, plan.identities[identity])
    except LoginFailed as exc:
        raise SetupError(f"{exc} (after {attempts} attempt(s))") from None
    State.last_login[identity] = time.time()
    return credential.request_headers()


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
        headers.update(State.tokens[identity])
    return identity, path, headers


def _failed(seq: int) -> bool:
    """An unexpected exception while sending: counted as an error, logged (a few times) for the parent."""
    State.tracebacks += 1
    if State.tracebacks <= MAX_TRACEBACKS:
        print(f"request {seq} raised (counted as an error):", file=sys.stderr)
        traceback.print_exc()
    return False


def _is_static(op: Operation) -> bool:
    """Same request every time: no identity, placeholder, body, capture or extra header."""
    return not (op.identities or "{" in op.path or op.json_body is not None or op.capture or op.headers)


class GeneratorUser(FastHttpUser):
    """Serves arrivals (open model) or loops with think time (closed model).

    One task call runs the user's whole loop: Locust's per-task bookkeeping (task choice,
    ``wait_time``, a hub round trip) is paid once per user, not once per request.
    """

    wait_time = constant(0)
    host = "http://127.0.0.1"  # replaced from the plan before spawning

    def on_start(self) -> None:
        self.index = State.next_user_index
        State.next_user_index += 1
        State.users.append(self)
        self.rng = random.Random(State.plan.profile.seed * 1_000_003 + self.index)
        self.waiting = False  # sleeping until a claimed arrival is due (safe to kill on stop)

    def send(self, op: Operation, seq: int) -> bool:
        try:
            identity, path, headers = _request_parts(op, seq, self.rng)
        except KeyError:
            gevent.sleep(0)  # no I/O happened: yield so a run of these cannot starve the hub
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
            State.tokens[identity] = login(identity, attempts=1)  # token expired during a long run
        return ok

    def _senders(self) -> list[Any]:
        """Per operation: a cheap closure for static requests, else the general ``send``."""
        request = self.client.request
        out = []
        for op in State.plan.profile.operations:
            if not _is_static(op):
                out.append(lambda seq, op=op: self.send(op, seq))
                continue
            expect = frozenset(op.expect_status)

            def static(seq: int, method: str = op.method, path: str = op.path, name: str = op.name,
                       expect: frozenset[int] = expect) -> bool:
                status = request(method, path, name=name).status_code or 0
                return status in expect if expect else 200 <= status < 400

            out.append(static)
        return out

    @task
    def serve(self) -> None:
        if State.plan.profile.model == "open":
            self.serve_open()
        else:
            self.serve_closed()
        raise StopUser()

    def serve_open(self) -> None:
        State.started.wait()
        senders, claim, record = self._senders(), State.schedule.claim, State.recorder.pending.append
        start, free_since, sent = State.recorder.start, 0.0, 0
        now, sleep = time.time, gevent.sleep
        State.entered += 1
        try:
            while not State.stopping:
                arrival = claim(free_since)  # drops what fell due while every user was busy
                if arrival is None:
                    return
                seq, offset, op = arrival
                intended = start + offset
                delay = intended - now()
                if delay > 0:
                    self.waiting = True
                    if delay < YIELD_FIRST_S:  # a busy loop's next pass usually takes longer: try that first
                        sleep(0)
                        delay = intended - now()
                    if delay > 0:
                        sleep(delay)
                    self.waiting = False
                sent += 1
                began = now()
                try:
                    ok = senders[op](seq)
                except Exception:
                    ok = _failed(seq)
                ended = now()
                free_since = ended - start
                record((op, intended, began, ended, ok))
        finally:
            State.sent += sent
            State.active -= 1

    def serve_closed(self) -> None:
        profile, rng = State.plan.profile, self.rng
        senders, record = self._senders(), State.recorder.pending.append
        indices = range(len(profile.operations))
        cum_weights = [sum(op.weight for op in profile.operations[: i + 1]) for i in indices]
        now, sleep, think = time.time, gevent.sleep, profile.think_time_s
        try:
            while not State.done.is_set():
                if self.index >= State.allowed_users:
                    self.waiting = True
                    sleep(0.05)
                    self.waiting = False
                    continue
                op = rng.choices(indices, cum_weights=cum_weights)[0] if len(cum_weights) > 1 else 0
                seq = rng.randrange(1 << 30)
                began = now()
                try:
                    ok = senders[op](seq)
                except Exception:
                    ok = _failed(seq)
                record((op, began, began, now(), ok))
                self.waiting = True
                sleep(think)  # also a yield when think time is 0, as Locust's constant(0) does
                self.waiting = False
        finally:
            State.active -= 1


def drop_overdue(now: float) -> None:
    """Drop the unclaimed arrivals already due: no user can be free for them any more.

    Any user that claims later became free after ``now`` (the bookkeeper runs between users'
    steps, and a user claims right after its response), so these would be dropped anyway;
    dropping them here puts them in the second they were due, even while every user hangs on
    a stalled target. Only once every user made its first claim (free since the start).
    """
    if State.entered < len(State.users) or State.stopping:
        return
    State.schedule.drop_due(now - State.recorder.start)


def drive_closed(stop: Event) -> None:
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


def wait_open(stop: Event) -> None:
    """Open model: wait until the users have served the whole schedule, or a stop."""
    deadline = State.recorder.start + State.plan.profile.duration_s + State.plan.profile.timeout_s + 2
    while State.active > 0 and not stop.is_set() and time.time() < deadline:
        stop.wait(0.05)


def run(plan: WorkerPlan) -> None:
    State.plan = plan
    State.recorder = recorder = Recorder(plan)
    open_model = plan.profile.model == "open"
    if open_model:
        State.schedule = SharedSchedule(arrival_tuples(plan.profile, plan.worker_index, plan.workers),
                                        recorder.pending_drops.append)
    for identity in sorted(plan.profile.identity_names()):
        State.tokens[identity] = login(identity)
    for op in plan.profile.setup:  # once per identity, not measured (e.g. create something to read)
        for identity in op.identities or [""]:
            headers = dict(State.tokens[identity]) if identity else {}
            request = urllib.request.Request(
                plan.base_url.rstrip("/") + op.path, method=op.method,
                data=json.dumps(_fill(op.json_body, 0)).encode() if op.json_body is not None else None,
                headers={"Content-Type": "application/json", **headers, **op.headers})
            _capture(op, identity, open_json(request, plan.profile.timeout_s))

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
    State.active = State.next_user_index
    # Everything built so far (Locust, pydantic, the users) lives for the whole run: keep it out of
    # the cyclic collector, whose full passes would otherwise walk it and stall every user for ~20 ms.
    # Request garbage is freed by reference counting; at the default gen-0 threshold (700) the objects
    # of 50 requests in flight alone set off a collection every few ms (~1.5 % of the CPU, measured).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)

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
    State.started.set()

    stop, finished = Event(), Event()
    process = psutil.Process()
    process.cpu_percent(None)

    def keep_books() -> None:
        """Every 0.1 s: notice the stop file, drop overdue arrivals, fold records; each second: flush."""
        second = 1
        while not finished.wait(min(BOOKKEEPING_S, max(recorder.start + second + 0.02 - time.time(), 0.0))):
            now = time.time()
            if stop_path.exists():
                stop.set()
            if open_model:
                drop_overdue(now)
            if now >= recorder.start + second + 0.02:
                cpu = process.cpu_percent(None)
                recorder.cpu.append(cpu)
                second = int(now - recorder.start)
                recorder.flush(second, cpu)
                second += 1
            else:
                recorder.drain()

    books = gevent.spawn(keep_books)
    if open_model:
        wait_open(stop)
        drop_overdue(time.time())  # due before the stop (or the deadline) and still unclaimed
    else:
        drive_closed(stop)
    State.stopping = True
    State.done.set()
    for user in State.users:  # asleep (until an arrival, or thinking): nothing more to send
        if user.waiting and user._greenlet is not None:
            user._greenlet.kill(block=False)
    # Let in-flight requests finish (bounded by the request timeout); the users then stop.
    deadline = time.time() + plan.profile.timeout_s + 1
    while State.active > 0 and time.time() < deadline:
        gevent.sleep(0.01)
    ended = time.time()
    finished.set()
    gevent.joinall([books], timeout=2)
    recorder.flush(int(ended - recorder.start) + 1, None)
    scheduled = (State.sent + sum(c[2] for c in recorder.counts)) if open_model else 0
    summary = recorder.summary(scheduled, ended, stop.is_set())
    target = summary_file(plan.out_dir, plan.worker_index)
    target.with_suffix(".tmp").write_text(json.dumps(summary))
    target.with_suffix(".tmp").replace(target)
    # No runner.quit(): stopping hundreds of users takes a second; main() ends the process at once.


def main() -> int:
    plan = WorkerPlan.model_validate_json(sys.stdin.read())
    try:
        run(plan)
    except SetupError as exc:  # a refused login/setup is the system's answer, not a crash: one clear line
        print(f"setup failed: {exc}", file=sys.stderr)
        return 3
    except Exception:  # the parent reads this log and shows it with the failure
        traceback.print_exc()
        return 3
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown of the gevent hub and idle users: results are on disk
