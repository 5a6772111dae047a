from shared.db.migrations import run_env
from tests.support.ledger.models import metadata

run_env(metadata, "ledger")
