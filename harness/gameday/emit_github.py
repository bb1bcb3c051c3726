"""A game day as a GitHub Actions workflow: ``on: schedule`` with the day's cron, one job, the report kept.

``concurrency`` with ``cancel-in-progress: false`` keeps two game days from overlapping (a new firing
waits); the job's timeout is the day's max duration plus set-up; the report folder is uploaded even
when the day aborted (exit 2 fails the job, which is what an aborted game day should do).
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from harness.gameday.emit import cron_of, job_name, repo_relative
from harness.gameday.plan import Plan
from harness.gameday.spec import LocalOptions

SETUP_MINUTES = 15


def workflow(plan: Plan) -> dict[str, Any]:
    name = job_name(plan)
    file = repo_relative(plan.source)
    options = plan.day.target.parsed_options()
    packages = [p for p, wanted in (("postgresql", isinstance(options, LocalOptions) and options.backend == "postgres"),
                                    ("redis-server", isinstance(options, LocalOptions) and options.redis)) if wanted]
    steps: list[dict[str, Any]] = [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
    ]
    if packages:
        steps.append({"name": "System packages the target needs",
                      "run": f"sudo apt-get update -qq && sudo apt-get install -y -qq {' '.join(packages)}"})
    steps += [
        {"name": "Install the harness", "run": "bash .ci/setup"},
        {"name": f"Game day: {plan.day.title}", "run": f".venv/bin/harness gameday run {file} --report-dir reports"},
        {"name": "Keep the report", "if": "always()", "uses": "actions/upload-artifact@v4",
         "with": {"name": f"{name}-${{{{ github.run_id }}}}", "path": "reports/", "retention-days": 30}},
    ]
    return {
        "name": f"Game day: {plan.day.title}",
        "on": {"schedule": [{"cron": cron_of(plan)}], "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": name, "cancel-in-progress": False},
        "jobs": {"gameday": {
            "runs-on": "ubuntu-latest",
            "timeout-minutes": math.ceil(plan.day.guardrails.max_duration_s / 60) + SETUP_MINUTES,
            "env": {"HARNESS_TRIGGER": "gameday"},
            "steps": steps,
        }},
    }


def render_workflow(plan: Plan) -> str:
    header = (f"# .github/workflows/{job_name(plan)}.yaml: {plan.day.title} (owner {plan.day.owner}), "
              f"cron {cron_of(plan)} UTC\n")
    return header + yaml.safe_dump(workflow(plan), sort_keys=False, width=120)
