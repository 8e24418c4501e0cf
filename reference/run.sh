#!/usr/bin/env bash
# Rebuilds reference/results.db and reference/report from scratch: every
# sweep of the reference, run by binaries built from one clean, committed
# tree (each run records the build's commit), then the reports rendered
# from the database alone.
#
#   reference/run.sh              # all sweeps, about 6 hours on 2 cores
#   reference/run.sh recipe codes # some of them (the database is kept,
#                                 # finished trials are skipped)
#
# The sweeps run in order of what the README's claims need most: emoji
# (the shortest), paper, recipe, codes, schedules, headroom; each trains every
# configuration's first seed before any second one, so a run cut short
# (Ctrl-C or SIGTERM record the runs in progress as interrupted) leaves
# whole seeds, and running the script again with the same sweeps named
# goes on from there.
#
# It needs what the sweeps read: the emoji and Tux Paint caches
# (go run ./datasets/setup emoji; go run ./datasets/setup tuxpaint)
# and OpenBLAS (apt-get install libopenblas-dev): the binaries are built
# with -tags openblas, 1.6 times faster than the pure-Go build here.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "$(git status --porcelain)" ]; then
  echo "reference/run.sh: the tree has uncommitted changes; commit them first, so that every run records one clean commit" >&2
  git status --short >&2
  exit 1
fi
sweeps=("$@")
fresh=false
if [ ${#sweeps[@]} -eq 0 ]; then
  sweeps=(emoji paper recipe codes schedules headroom)
  fresh=true
fi

# Build first, while the tree is clean: the binaries record the commit
# and vcs.modified=false, which deleting the old database below would
# make true.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for s in "${sweeps[@]}"; do
  go build -buildvcs=true -tags openblas -o "$bin/$s" "./experiments/$s"
  # Some checkouts give the go command no VCS information (seen in a git
  # worktree): then the runs would record the checkout, not the build.
  if ! go version -m "$bin/$s" | grep -q 'vcs.modified=false'; then
    echo "reference/run.sh: $s was built without a clean VCS stamp (go version -m shows no vcs.modified=false); run this in a plain clone" >&2
    exit 1
  fi
done
if $fresh; then
  rm -f reference/results.db reference/results.db-wal reference/results.db-shm reference/results.db.gz
  rm -rf reference/checkpoints
elif [ -f reference/results.db.gz ] && [ ! -f reference/results.db ]; then
  gunzip -k reference/results.db.gz # continue the committed database
fi
# One training of these small models keeps one core busy: two workers use
# both (measured: see README, "The paper's sweeps").
for s in "${sweeps[@]}"; do
  echo "== $s ($(date -u +%H:%M:%S))"
  "$bin/$s" -db reference/results.db -workers 2   # its own report goes to report/ (ignored)
done

# The checkpoints are not part of the reference; a reader of results.db
# never needs them. DELETE journal mode leaves no -wal/-shm beside it.
rm -rf reference/checkpoints
sqlite3 reference/results.db 'PRAGMA journal_mode=DELETE;' >/dev/null
rm -rf reference/report
go run ./reports/cmd/report -db reference/results.db -out reference/report
# Committed compressed (the step history makes it 123 MB, 45 MB gzipped);
# -n leaves out the name and time, so the same database gives the same file.
gzip -9 -n -c reference/results.db > reference/results.db.gz
