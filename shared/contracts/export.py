"""`python -m shared.contracts.export PATH`: write the AsyncAPI document of every event contract."""

import sys
from pathlib import Path

import orjson

from shared.contracts.registry import asyncapi_document

if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/contracts/asyncapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(orjson.dumps(asyncapi_document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    print(target)
