"""A game day as a Kubernetes ``CronJob``, built from the kubernetes client's models.

Emitted, in order: the ``ServiceAccount`` the job runs as, one ``Role`` + ``RoleBinding`` per namespace
its faults touch with exactly the rules they need (``harness.gameday.permissions``; none for a local
target, whose reference system starts inside the job's pod), a ``ConfigMap`` holding the game-day file,
and the ``CronJob``: the harness image running ``harness gameday run`` on the mounted file,
``concurrencyPolicy: Forbid`` (never two game days at once), no retries (``backoffLimit: 0``: a game day
that aborted must not run again by itself), and a deadline a little past the day's max duration.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from kubernetes import client as k8s

from harness import __version__
from harness.gameday.emit import cron_of, job_name
from harness.gameday.permissions import kubernetes_rules
from harness.gameday.plan import Plan

DEFAULT_IMAGE = f"readiness-harness:{__version__}"
CONFIG_DIR = "/etc/harness/gameday"
REPORT_DIR = "/reports"
START_MARGIN_S = 600  # platform start-up and report writing on top of the day's max duration


def cronjob_objects(plan: Plan, *, image: str | None = None, namespace: str = "harness") -> list[Any]:
    name = job_name(plan)
    labels = {"app.kubernetes.io/name": "readiness-harness", "app.kubernetes.io/component": "gameday",
              "harness/gameday": name.removeprefix("gameday-")}
    rules = kubernetes_rules(plan)
    objects: list[Any] = [k8s.V1ServiceAccount(
        api_version="v1", kind="ServiceAccount", metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, labels=labels),
        automount_service_account_token=bool(rules))]
    for rule_namespace, namespace_rules in rules.items():
        meta = k8s.V1ObjectMeta(name=name, namespace=rule_namespace, labels=labels)
        objects.append(k8s.V1Role(api_version="rbac.authorization.k8s.io/v1", kind="Role", metadata=meta, rules=[
            k8s.V1PolicyRule(api_groups=[r.api_group], resources=[r.resource], verbs=list(r.verbs))
            for r in namespace_rules]))
        objects.append(k8s.V1RoleBinding(
            api_version="rbac.authorization.k8s.io/v1", kind="RoleBinding", metadata=meta,
            role_ref=k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
            subjects=[k8s.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)]))
    file_name = plan.source.name
    objects.append(k8s.V1ConfigMap(api_version="v1", kind="ConfigMap",
                                   metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, labels=labels),
                                   data={file_name: plan.source.read_text()}))
    container = k8s.V1Container(
        name="gameday", image=image or DEFAULT_IMAGE, image_pull_policy="IfNotPresent",
        command=["harness"], args=["gameday", "run", f"{CONFIG_DIR}/{file_name}", "--report-dir", REPORT_DIR],
        env=[k8s.V1EnvVar(name="HARNESS_TRIGGER", value="gameday"), k8s.V1EnvVar(name="HARNESS_STATE_DIR", value="/tmp/harness")],
        volume_mounts=[k8s.V1VolumeMount(name="gameday", mount_path=CONFIG_DIR, read_only=True),
                       k8s.V1VolumeMount(name="reports", mount_path=REPORT_DIR)],
        resources=k8s.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}, limits={"memory": "2Gi"}),
        security_context=k8s.V1SecurityContext(allow_privilege_escalation=False))
    deadline = math.ceil(plan.day.guardrails.max_duration_s) + START_MARGIN_S
    pod = k8s.V1PodSpec(service_account_name=name, restart_policy="Never", containers=[container],
                        termination_grace_period_seconds=60,  # SIGTERM aborts the day: rollbacks, report, exit 2
                        volumes=[k8s.V1Volume(name="gameday", config_map=k8s.V1ConfigMapVolumeSource(name=name)),
                                 k8s.V1Volume(name="reports", empty_dir=k8s.V1EmptyDirVolumeSource())])
    job = k8s.V1JobSpec(backoff_limit=0, active_deadline_seconds=deadline, ttl_seconds_after_finished=7 * 24 * 3600,
                        template=k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels=labels), spec=pod))
    objects.append(k8s.V1CronJob(
        api_version="batch/v1", kind="CronJob", metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=k8s.V1CronJobSpec(schedule=cron_of(plan), time_zone="Etc/UTC", concurrency_policy="Forbid",
                               starting_deadline_seconds=600, successful_jobs_history_limit=3,
                               failed_jobs_history_limit=3,
                               job_template=k8s.V1JobTemplateSpec(metadata=k8s.V1ObjectMeta(labels=labels), spec=job))))
    return objects


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the game-day file in the ConfigMap) as literal blocks, readable in the manifest."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def render_cronjob(plan: Plan, *, image: str | None = None, namespace: str = "harness") -> str:
    objects = cronjob_objects(plan, image=image, namespace=namespace)
    documents = [k8s.ApiClient().sanitize_for_serialization(obj) for obj in objects]
    roles = [obj for obj in objects if isinstance(obj, k8s.V1Role)]
    access = (f"its faults need: {', '.join(f'{r.metadata.namespace} ({len(r.rules)} rules)' for r in roles)}"
              if roles else "no Kubernetes API access: a local target starts the reference system inside the pod")
    header = (f"# {plan.day.title}: harness gameday run, schedule {cron_of(plan)} (UTC); {access}\n"
              f"# kubectl apply -f this file (namespace {namespace} must exist). Reports are in the pod's /reports "
              "(emptyDir): mount a volume there to keep them; webhooks carry the verdict.\n")
    return header + yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
