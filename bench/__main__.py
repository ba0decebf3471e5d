"""`make bench`: every figure is printed beside its comparison, both measured in this one run."""

from __future__ import annotations

import asyncio
import logging
import sys

from bench import flags_bench, lighthouse_bench, reports_bench, write_bench

SECTIONS = {
    "flags": flags_bench.run,
    "reports": reports_bench.run,
    "lighthouse": lighthouse_bench.run,
    "writes": write_bench.run,
}


async def main(names: list[str]) -> None:
    logging.disable(logging.WARNING)
    for name in names or list(SECTIONS):
        print(f"\n== {name} ==", flush=True)
        await SECTIONS[name]()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
