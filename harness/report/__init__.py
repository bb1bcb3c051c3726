"""Report writers: each renders a ``RunResult`` into one file of the run's report folder."""

from harness.report.folder import new_run_id, prepare_run_folder, update_latest
from harness.report.writers import builtin_reporters, write_reports

__all__ = ["builtin_reporters", "new_run_id", "prepare_run_folder", "update_latest", "write_reports"]
