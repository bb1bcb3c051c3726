"""Facts about the scenario around a failed check, which a noise rule's ``when`` can name.

Some known noise cannot be told from the failure's text: whether a 404 is right depends on what
the fuzzer itself sent before. These facts are computed from the engine's recorder; whether a
fact makes a failure noise is decided by a profile rule with a stated reason, never here.
"""

from __future__ import annotations

from typing import Any

CONDITIONS = {
    "resource_deleted_earlier": "a 2xx DELETE sent earlier in the same scenario carried this request's path value",
}
MIN_ID_LENGTH = 6  # path values shorter than this could match another path's value by accident


def scenario_conditions(recorder: Any, case_id: str, case: Any) -> list[str]:
    """The names (keys of ``CONDITIONS``) that hold for the failing ``case``."""
    return ["resource_deleted_earlier"] if deleted_through_another_path(recorder, case_id, case) else []


def deleted_through_another_path(recorder: Any, case_id: str, case: Any) -> bool:
    """A 2xx DELETE earlier in the scenario whose path carries this case's path-parameter value.

    Schemathesis' own ``resource_was_deleted`` only counts a DELETE whose path is a prefix of the
    read's, so ``DELETE /admin/analyses/{id}`` (a link it inferred) removing the object that
    ``GET /analyses/{id}`` then reads is reported as "Created resource not found" although 404 is right.
    """
    values = {str(v) for v in (case.path_parameters or {}).values() if len(str(v)) >= MIN_ID_LENGTH}
    if not values:
        return False
    for prior in recorder.find_all_cases():
        if prior.id == case_id:
            break  # only what was sent before the failing request
        if prior.operation.method.upper() != "DELETE":
            continue
        response = recorder.find_response(case_id=prior.id)
        if response is None or not 200 <= response.status_code < 300:
            continue
        if values & {str(v) for v in (prior.path_parameters or {}).values()}:
            return True
    return False
