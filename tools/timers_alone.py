"""Run the timer poller alone: `python -m tools.timers_alone --url postgresql://...`.

A replica of the workflow's timer worker without HTTP or consumers: used by the crash test (which
kills it with SIGKILL mid-sweep) and handy to add poller capacity by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from shared.clock import SystemClock
from shared.db.engine import create_engine, session_factory
from shared.db.outbox import Outbox
from workflow.models import outbox
from workflow.schedule import Steps
from workflow.service import Workflow
from workflow.timers import TimerPoller, run_poller


async def main(url: str, batch_size: int, interval_s: float, once: bool) -> None:
    engine = create_engine(url, pool_size=2, max_overflow=0)
    workflow = Workflow.load()
    poller = TimerPoller(
        session_factory(engine),
        Outbox(outbox, "/cityloop/workflow", SystemClock()),
        SystemClock(),
        workflow.departments,
        Steps(workflow.clockwork, workflow.rules),
        batch_size=batch_size,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if once:
            print(await poller.drain(), flush=True)
        else:
            await run_poller(poller, interval_s, metrics_interval_s=60.0, stop=stop)
    finally:
        await engine.dispose()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="PostgreSQL URL of the workflow database")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds to sleep when nothing is due")
    parser.add_argument("--once", action="store_true", help="fire what is due now, print the count, exit")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.batch_size, args.interval, args.once))


if __name__ == "__main__":
    cli()
