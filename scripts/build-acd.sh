#!/usr/bin/env bash
# Compiles the ACD core's hot modules with mypyc into build/mypyc (callcenter/_compiled.py
# loads them; docs/acd.md). Without a C compiler or Python headers it says so and exits 0:
# the core then runs interpreted, which behaves the same.
set -euo pipefail
BIN=${1:-.venv/bin}
MODULES=(engine dispatch pools state router agents_ops strategies takeover direct)
root=$(pwd)
mkdir -p build
work=$(mktemp -d "$root/build/mypyc.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/callcenter/acd"
cp src/callcenter/__init__.py src/callcenter/_compiled.py "$work/src/callcenter/"
cp src/callcenter/acd/*.py "$work/src/callcenter/acd/"
files=()
for m in "${MODULES[@]}"; do files+=("callcenter/acd/$m.py"); done
if ! (cd "$work/src" && "$root/$BIN/mypyc" "${files[@]}" >"$work/log" 2>&1); then
  echo "mypyc could not compile the ACD core (see below): it runs interpreted" >&2
  tail -20 "$work/log" >&2
  exit 0
fi
"$root/$BIN/python" - "$work" "${MODULES[@]}" <<'PY'
import hashlib, json, shutil, sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

work, modules = Path(sys.argv[1]), sys.argv[2:]
suffix = EXTENSION_SUFFIXES[0]
out = work / "out"
(out / "callcenter" / "acd").mkdir(parents=True)
entries = {}
for shared in (work / "src").glob(f"*__mypyc{suffix}"):  # mypyc's library of all the code
    shutil.copy2(shared, out / shared.name)
    entries[shared.name[: -len(suffix)]] = shared.name
for m in modules:
    name = f"callcenter/acd/{m}{suffix}"
    shutil.copy2(work / "src" / name, out / name)
    entries[f"callcenter.acd.{m}"] = name
# every module of the package as compiled (the copies), the uncompiled ones too: the build is
# used only while the whole package is what it was built from
sources = {
    f"callcenter/acd/{source.name}": hashlib.sha256(source.read_bytes()).hexdigest()
    for source in sorted((work / "src" / "callcenter" / "acd").glob("*.py"))
}
manifest = {"suffix": suffix, "modules": entries, "sources": sources}
(out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
PY
rm -rf build/mypyc
mv "$work/out" build/mypyc
echo "compiled the ACD core with mypyc into build/mypyc"
