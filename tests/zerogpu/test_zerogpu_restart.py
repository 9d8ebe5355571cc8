"""A Space that restarts (or sleeps and wakes) while a visitor's run is paused between two GPU calls.

The app is killed with its GPU workers, as a restart does, and started again on the same TRAINER_STUDIO_HOME:
the run directory is all that is left, and it must be enough. Real ``spaces`` package, stand-in device API.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from zerogpu_support import assert_same_weights_as_one_call, ip_token, options, run_dir, stream


def status_of(run: Path) -> dict:
    return json.loads((run / "status.json").read_text(encoding="utf-8"))


def events_in(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def wait_for_state(run: Path, states: tuple[str, ...], timeout: float = 240, **pause) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = status_of(run)
        if status.get("state") in states and all((status.get("pause") or {}).get(k) == v for k, v in pause.items()):
            return status
        time.sleep(0.25)
    raise AssertionError(f"the run is still {status_of(run).get('state')}: {status_of(run)}")


def test_a_paused_run_is_found_after_a_restart_and_resumes_at_its_time(space, device_api, tmp_path):
    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    device_api.pass_next()  # the first slice trains ...
    device_api.refuse_next("quota", left=0, wait=30)  # ... then the visitor's quota is used up for 30 s
    items = stream(client.submit(**options(), api_name="/train"))
    assert items[-1]["state"] == "paused", items[-1]
    run = run_dir(space, client, items[-1]["run_id"])
    resume_at = status_of(run)["pause"]["resume_at"]

    space.restart()  # the waiting thread dies with the process
    restarted = time.time()
    before = len(device_api.bookings)
    assert status_of(run)["state"] == "paused"

    # Nobody visits: the run continues on its own when its time comes, from the checkpoint it had.
    status = wait_for_state(run, ("finished", "failed"))
    assert status["state"] == "finished", status
    assert status["step"] == 12
    after = device_api.bookings[before:]
    assert after and min(b.scheduled for b in after) >= min(resume_at, restarted) - 1  # not before its time
    events = events_in(run)
    resumed = [e["checkpoint"] for e in events if e["type"] == "resume"]
    assert resumed[-2:] == ["model/checkpoint-4", "model/checkpoint-8"]  # nothing trained before the restart is lost
    assert [e["type"] for e in events].count("done") == 1
    assert_same_weights_as_one_call(run, tmp_path)
    log = space.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_a_run_cut_by_a_restart_resumes_on_the_visitors_quota_at_their_first_click(space, device_api):
    visitor = secrets.token_hex(8)
    client = space.client(visitor)
    device_api.hold_schedules(after=1)  # the first slice trains; the second waits for a GPU ...
    job = client.submit(**options(), api_name="/train")
    deadline = time.monotonic() + 240
    while device_api.schedule_calls < 2 or not job.outputs():
        assert time.monotonic() < deadline, "the second GPU call never came"
        time.sleep(0.2)
    run = run_dir(space, client, job.outputs()[-1]["run_id"])
    wait_for_state(run, ("running",))

    # ... when the Space restarts. Back up, the run books its slice itself, without a visitor's request, so on
    # the Space's own quota, which ZeroGPU says is used up.
    device_api.refuse_next("quota", left=0, wait=3600)
    space.restart()
    device_api.release_holds()
    status = wait_for_state(run, ("paused", "failed", "finished"), kind="space_quota")
    assert "this Space's own GPU quota" in status["pause"]["message"]
    restart_pause = [e for e in events_in(run) if e["type"] == "paused" and e["reason"] == "restart"]
    assert len(restart_pause) == 1 and "restarted" in restart_pause[0]["message"]

    # The visitor comes back (the same client, so the same session): their first call resumes it on their quota.
    before = len(device_api.bookings)
    runs = client.predict(api_name="/runs")
    assert [r["run_id"] for r in runs] == [run.name]
    status = wait_for_state(run, ("finished", "failed"))
    assert status["state"] == "finished", status
    assert device_api.bookings[before:] and all(b.token == ip_token(visitor) for b in device_api.bookings[before:])
    resumed = [e["checkpoint"] for e in events_in(run) if e["type"] == "resume"]
    assert resumed[0] == "model/checkpoint-4"  # the slice cut by the restart had saved nothing; the first had


def test_the_app_says_when_runs_do_not_survive_a_restart(space):
    import httpx

    page = httpx.get(f"{space.url}config", timeout=60).text
    # TRAINER_STUDIO_HOME is not under /data here: on a Space that is storage lost at each restart.
    assert "no persistent storage" in page
