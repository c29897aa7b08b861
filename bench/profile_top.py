"""The top entries of a py-spy profile (``--format raw``: one collapsed stack and its samples a line).

    python -m bench.profile_top issue.txt            # by own time, then by time including callees
    python -m bench.profile_top issue.txt --top 25 --match server/

Frames read ``function (file)``; paths are shortened to what follows ``site-packages/`` or the
project root.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_SHORTEN = re.compile(r"\((?:.*/site-packages/|.*/(?=(?:server|bench|kiosk|display|printer)/)|.*/lib/python3[^/]*/)")


def read_stacks(path: Path) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks[tuple(_SHORTEN.sub("(", frame) for frame in frames.split(";"))] += int(count)
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--match", default="", help="only frames containing this text in the inclusive list")
    args = parser.parse_args()
    stacks = read_stacks(args.profile)
    total = sum(stacks.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks.items():
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"{total} samples\n\nown time:")
    for frame, count in own.most_common(args.top):
        print(f"{100 * count / total:5.1f} %  {frame}")
    print("\nincluding callees:")
    shown = [(f, c) for f, c in inclusive.most_common() if args.match in f]
    for frame, count in shown[: args.top]:
        print(f"{100 * count / total:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
