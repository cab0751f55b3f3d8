"""POSIX-sh scripts the host sends to a device, built with every value quoted.

Each script is passed to the device as ``exec /bin/sh -c '<script>'`` so the login shell there
(bash, zsh, dash, ...) only sees one quoted word. Paths that start with ``~/`` become
``"$HOME"/...``; everything else is ``shlex.quote``d; cache keys are checked as hex first.
"""

from __future__ import annotations

import re
import shlex

from edgevid.transports.base import MISSING_MARK, PID_MARK, RECORD_MARK
from edgevid.transports.bundle import LABEL

_KEY = re.compile(r"^[0-9a-f]{8,64}$")
#: exit code of a run script whose bundle or artifact is not (or no longer) in the cache
MISSING_RC = 86


def q(value) -> str:
    return shlex.quote(str(value))


def path(p: str) -> str:
    """A device path for sh: ``~`` expands to the remote $HOME, the rest is quoted."""
    if p == "~":
        return '"$HOME"'
    if p.startswith("~/"):
        return '"$HOME"/' + q(p[2:])
    return q(p)


def key(k: str) -> str:
    if not _KEY.match(k):
        raise ValueError(f"not a cache key: {k!r}")
    return k


def wrap(script: str) -> str:
    """The one word the remote login shell receives."""
    return "exec /bin/sh -c " + q(script)


def header(workdir: str) -> str:
    return f"W={path(workdir)}\n"


def probe(workdir: str, python: str, bundle: str, quick: bool) -> str:
    return (
        header(workdir)
        + f"""B="$W/bundles/{key(bundle)}"
if [ -d "$B/runners" ]; then cd "$B" && exec {path(python)} -m runners.probe --workdir "$W"{
            " --quick" if quick else ""
        }; fi
echo {q(MISSING_MARK + "bundle")}
command -v {path(python)} >/dev/null 2>&1 || echo {q(MISSING_MARK + "python")}
"""
    )


def receive(workdir: str, kind: str, name: str, gzip: bool, label: str = "") -> str:
    """Unpack a tar stream from stdin into $W/<kind>/<name>, atomically (a temp dir renamed)."""
    flags = "-xzf" if gzip else "-xf"
    return (
        header(workdir)
        + f"""D="$W/{kind}/{key(name)}"
mkdir -p "$W/{kind}" || exit 1
T=$(mktemp -d "$W/{kind}/.tmp.XXXXXX") || exit 1
if ! tar {flags} - -C "$T"; then rm -rf "$T"; exit 1; fi
if [ -d "$D" ]; then rm -rf "$T"; else mv "$T" "$D"; fi
"""
    )


def run(workdir: str, python: str, bundle: str, artifact: str, run_id: str, args: list) -> str:
    """Start the runner in the background, report its pid, kill it if our stdin closes (the
    connection dropped, or the host stopped), then print the record after a mark."""
    quoted = " ".join({"@@A": '"$A"', "@@OUT": '"$OUT"'}.get(a, q(a)) for a in args)
    rid = key(run_id)
    return (
        header(workdir)
        + f"""A="$W/artifacts/{key(artifact)}"; B="$W/bundles/{key(bundle)}"
[ -d "$B/runners" ] || {{ echo {q(MISSING_MARK + "bundle")} >&2; exit {MISSING_RC}; }}
[ -f "$A/artifact.json" ] || {{ echo {q(MISSING_MARK + "artifact")} >&2; exit {MISSING_RC}; }}
mkdir -p "$W/runs" && touch "$A/{LABEL}"
OUT="$W/runs/{rid}.json"
cd "$B" || exit {MISSING_RC}
exec 3<&0
{path(python)} -m runners {quoted} </dev/null 3<&- &
pid=$!
echo "{PID_MARK}$pid" >&2
( cat <&3 >/dev/null
  command -v pkill >/dev/null 2>&1 && pkill -TERM -P "$pid"
  kill -TERM "$pid"; sleep 2; kill -KILL "$pid"
  rm -f "$OUT" "$W/runs/.{rid}.json."*.tmp ) >/dev/null 2>&1 &
wd=$!
exec 3<&-
wait "$pid"; rc=$?
kill "$wd" 2>/dev/null
if [ -f "$OUT" ]; then echo {q(RECORD_MARK)}; cat "$OUT"; rm -f "$OUT"; fi
exit $rc
"""
    )


def kill(pid: int, workdir: str, run_id: str) -> str:
    """Stop a runner we started (only if that pid is still a runner), and its leftovers."""
    p = int(pid)
    return (
        header(workdir)
        + f"""case "$(ps -p {p} -o args= 2>/dev/null)" in
  *runners*) command -v pkill >/dev/null 2>&1 && pkill -TERM -P {p}
             kill -TERM {p} 2>/dev/null; sleep 1; kill -KILL {p} 2>/dev/null;;
esac
rm -f "$W/runs/{key(run_id)}.json" "$W/runs/.{key(run_id)}.json."*.tmp
"""
    )


def cache_list(workdir: str) -> str:
    return (
        header(workdir)
        + f"""for d in "$W"/artifacts/*/; do
  [ -d "$d" ] || continue
  k=$(basename "$d"); s=$(du -sk "$d" | cut -f1)
  t=$(stat -c %Y "$d/{LABEL}" 2>/dev/null || stat -f %m "$d/{LABEL}" 2>/dev/null || echo 0)
  echo "artifact $k $s $t $(cat "$d/{LABEL}" 2>/dev/null)"
done
for d in "$W"/bundles/*/; do
  [ -d "$d" ] || continue
  echo "bundle $(basename "$d") $(du -sk "$d" | cut -f1) 0 runner"
done
"""
    )


def prune(workdir: str, artifacts: list, bundles: list) -> str:
    lines = [f'rm -rf "$W/artifacts/{key(k)}" && echo "artifact {k}"' for k in artifacts]
    lines += [f'rm -rf "$W/bundles/{key(k)}" && echo "bundle {k}"' for k in bundles]
    return header(workdir) + "\n".join(lines) + "\n"


def serve_pair(workdir: str, python: str, bundle: str, sides: list) -> str:
    """Start the A/B relay (``runners.serve_pair``) for ``sides`` [(name, artifact key, options
    JSON)], after reporting its pid; it reads commands on our stdin and ends at its EOF."""
    checks, args = [], []
    for name, art, options in sides:
        d = f'"$W/artifacts/{key(art)}"'
        checks.append(
            f"[ -f {d}/artifact.json ] || {{ echo {q(MISSING_MARK + 'artifact')} >&2; "
            f"exit {MISSING_RC}; }}\ntouch {d}/{LABEL}"
        )
        args.append(f"--side {q(name)} {d} {q(options)}")
    return (
        header(workdir)
        + f"""B="$W/bundles/{key(bundle)}"
[ -d "$B/runners" ] || {{ echo {q(MISSING_MARK + "bundle")} >&2; exit {MISSING_RC}; }}
{chr(10).join(checks)}
cd "$B" || exit {MISSING_RC}
echo "{PID_MARK}$$" >&2
exec {path(python)} -m runners.serve_pair {" ".join(args)}
"""
    )
