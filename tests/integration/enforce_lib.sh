# Helpers for the enforcement tests (source after lib.sh).
#
# This machine is shared: a block/kill/hold policy applies to every process on it. The tests
# therefore run copies of the clients from $T/bin and scope every rule of the example policies to
# executables under $T, so they never act on anyone else's processes.
mkdir -p "$T/bin"
cp "$(readlink -f /usr/bin/python3)" "$T/bin/python3"
cp "$(readlink -f "$(command -v curl)")" "$T/bin/curl"
TPY=$T/bin/python3
TCURL=$T/bin/curl

# scoped_policy EXAMPLE OUT [JSON-MERGE]: the example with each rule scoped to exe "$T/*", and
# optionally top-level keys replaced by those of JSON-MERGE.
scoped_policy() {
  "$PY" - "$1" "$2" "$T" "${3:-{\}}" <<'PYEOF'
import json, sys
src, out, tdir, merge = sys.argv[1:5]
p = json.load(open(src))
for r in p["rules"]:
    scope = r.setdefault("scope", {})
    scope["exe"] = [tdir + "/*"]
p.update(json.loads(merge))
json.dump(p, open(out, "w"), indent=1)
PYEOF
}

# proc_state PID: the one-letter state of a process (empty when gone).
proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true; }
