#!/usr/bin/env python3
"""The rooms of the source tree and the one direction their includes may point (docs/architecture.md).

CMake links each room's target only to the rooms below it, but every target shares one include
root, so a header of a higher room would still compile in a lower one. This check reads every
include and fails on one that points upward, or on Boost or nghttp2 outside core/http/, where
Beast and nghttp2 are PRIVATE. Run by ctest as layout.rooms.

Usage: check_rooms.py SOURCE_DIR
"""
import re
import sys
from pathlib import Path

# Each room and the rooms it may include, besides itself. Keep in step with the rooms'
# CMakeLists.txt target_link_libraries.
ALLOWED = {
    "config": set(),
    "health": {"config"},
    "balancers": {"config", "health"},
    "core/base": {"config"},
    "core/io": {"config", "core/base"},
    "core/http": {"core/base"},
    "core/runtime": {"config", "balancers", "health", "core/base", "core/io"},
    "core/probes": {"config", "balancers", "health", "core/base", "core/io", "core/runtime"},
    "core/proxy": {"config", "balancers", "health", "core/base", "core/io", "core/http",
                   "core/runtime"},
    "core/admin": {"config", "balancers", "health", "core/base", "core/io", "core/http",
                   "core/runtime", "core/probes"},
    "core/discovery": {"config", "balancers", "health", "core/base", "core/io", "core/runtime"},
    "core": {"config", "balancers", "health", "core/base", "core/io", "core/http", "core/runtime",
             "core/probes", "core/proxy", "core/admin", "core/discovery"},
}
# Libraries linked PRIVATE to ringlb_http: their headers may appear in core/http/ only.
HTTP_PRIVATE = {"boost/": "Boost", "nghttp2/": "nghttp2"}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def room_of(path: str):
    """The room a repository-relative path belongs to: the longest ALLOWED key that holds it."""
    parts = path.split("/")
    for depth in (2, 1):
        key = "/".join(parts[:depth])
        if key in ALLOWED and len(parts) > depth:
            return key
    return None


def main():
    root = Path(sys.argv[1])
    problems = []
    for source in sorted(root.glob("*/**/*")):
        if source.suffix not in {".cpp", ".hpp", ".in"}:
            continue
        relative = source.relative_to(root).as_posix()
        room = room_of(relative)
        if room is None:
            continue
        text = source.read_text(errors="replace")
        for match in INCLUDE.finditer(text):
            target = match.group(1)
            line = text.count("\n", 0, match.start()) + 1
            library = next((name for prefix, name in HTTP_PRIVATE.items()
                            if target.startswith(prefix)), None)
            if library and room != "core/http":
                problems.append(f"{relative}:{line}: includes <{target}>: {library} is private to "
                                f"core/http")
                continue
            target_room = room_of(target)
            if target_room is None or target_room == room:
                continue
            if target_room not in ALLOWED[room]:
                problems.append(f"{relative}:{line}: {room} includes {target}, from {target_room}, "
                                f"which is not below it")
    for problem in problems:
        print(problem)
    print(f"{len(problems)} include(s) against the room order")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
