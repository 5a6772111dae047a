from shared.db.migrations import run_env
from workflow.models import metadata

run_env(metadata, "workflow")
