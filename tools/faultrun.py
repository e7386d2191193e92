"""Fault runs outside CI: N seeded runs one after another, a line each, a summary at the end.

    python tools/faultrun.py --runs 200                      # seeds 1..200, 3 brokers, 60 s each
    python tools/faultrun.py --seed 17 --brokers 5 --faults kill,pause,partition,isolate
    python tools/faultrun.py --seed 17 ...                    # replays one run (the line each run prints)

Each run prints its seed and the command that replays it (tests/faults/run.py). With ``--stop-on-fail``
the first invalid run ends the loop and keeps its directory (cluster logs and ``history.jsonl``);
otherwise a passing run's directory is removed. Exit status 0 when every run was valid, 1 otherwise.
Run it from the repository root with the project's venv (root for network faults).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The fault suite lives in the tests package (tests/faults); a tool run as a script sees only tools/ on
# its path, so the repository root is added (tests import it by its package name, never like this).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.run import RunConfig, fault_run  # noqa: E402
from tests.faults.schedule import KINDS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="run this one seed (replay)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--faults", default="kill,pause,partition", help=f"comma list of {','.join(KINDS)}, or none")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rf", type=int, default=3)
    parser.add_argument("--min-isr", type=int, default=2)
    parser.add_argument("--unclean", action="store_true")
    parser.add_argument("--no-transactions", action="store_true")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--stop-on-fail", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep every run's directory")
    parser.add_argument("--quiet", action="store_true", help="only a line per run and the summary")
    args = parser.parse_args(argv)
    faults = [] if args.faults == "none" else [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(KINDS)
    if unknown:
        parser.error(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    seeds = [args.seed] if args.seed is not None else list(range(args.first_seed, args.first_seed + args.runs))
    passed, failed, streak, best = 0, [], 0, 0
    t0 = time.monotonic()
    for seed in seeds:
        base = Path(tempfile.mkdtemp(prefix=f"kavka-faultrun-{seed}-"))
        config = RunConfig(
            seed=seed,
            brokers=args.brokers,
            duration=args.duration,
            faults=faults,
            partitions=args.partitions,
            replication_factor=args.rf,
            min_insync_replicas=args.min_isr,
            unclean=args.unclean,
            transactions=not args.no_transactions,
            rate=args.rate,
            base_dir=base,
            log=(lambda _line: None) if args.quiet else print,
        )
        try:
            run = fault_run(config)
            ok, line = run.valid, run.report().splitlines()[0]
            if args.quiet and not ok:
                print(run.report())
        except Exception as exc:  # noqa: BLE001 - a run that could not complete is a failed run, reported
            ok, line = False, f"fault run seed={seed}: ERROR {exc!r}; replay: {config.replay_command()}"
        print(line, flush=True)
        if ok:
            passed += 1
            streak += 1
            best = max(best, streak)
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
        else:
            failed.append(seed)
            streak = 0
            print(f"  kept {base}", flush=True)
            if args.stop_on_fail:
                break
    print(
        f"summary: {passed} of {passed + len(failed)} runs valid, longest valid streak {best}, "
        f"failed seeds {failed or 'none'}, {time.monotonic() - t0:.0f}s"
    )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
