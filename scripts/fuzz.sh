#!/usr/bin/env bash
# scripts/fuzz.sh: run every native Go fuzz target of the module, one after
# the other, each for an equal share of a total time, and print a table of
# executions and new-coverage ("new interesting") counts per target.
#
#   scripts/fuzz.sh -time 1h                 # every Fuzz* target in ./...
#   scripts/fuzz.sh -time 10m -run 'Conn'    # only targets matching a regexp
#   scripts/fuzz.sh -time 5m -pkg ./fuzz     # only one package
#
# Options:
#   -time D          total time (Go duration: 90s, 10m, 1h, 1h30m); default 10m
#   -pkg P           package pattern to search for targets; default ./...
#   -run RE          only targets whose name matches RE (grep -E); default all
#   -parallel N      fuzzing workers per target; default 1
#   -minimizetime D  -fuzzminimizetime per target; default 3s (go test: 60s;
#                    the fuzzer may pause up to that long on a new input)
#   -logdir DIR      where each target's go test output goes; default a temp dir
#
# New corpus entries go to Go's fuzz cache ($(go env GOCACHE)/fuzz), so a
# later run resumes from them. A target that fails writes its input to
# <pkg>/testdata/fuzz/<Target>/ (commit it as a regression case once fixed).
# The exit status is 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

total=10m pkg=./... run='' parallel=1 minimize=3s logdir=''
while [ $# -gt 0 ]; do
	case "$1" in
	-time) total=$2; shift 2 ;;
	-pkg) pkg=$2; shift 2 ;;
	-run) run=$2; shift 2 ;;
	-parallel) parallel=$2; shift 2 ;;
	-minimizetime) minimize=$2; shift 2 ;;
	-logdir) logdir=$2; shift 2 ;;
	-h | -help | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "fuzz.sh: unknown option $1 (try -help)" >&2; exit 2 ;;
	esac
done

# seconds converts a Go-style duration (1h30m, 45m, 90s, 2h) to seconds.
seconds() {
	local d=$1 s=0 n u
	if [[ ! $d =~ ^([0-9]+[hms])+$ ]]; then
		echo "fuzz.sh: bad duration $d (want e.g. 90s, 10m, 1h30m)" >&2
		exit 2
	fi
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $u in h) s=$((s + n * 3600)) ;; m) s=$((s + n * 60)) ;; s) s=$((s + n)) ;; esac
	done
	echo "$s"
}

total_s=$(seconds "$total")
[ -n "$logdir" ] || logdir=$(mktemp -d "${TMPDIR:-/tmp}/hybi-fuzz.XXXXXX")
mkdir -p "$logdir"

# Discover targets the way the CI does: go test -list per package.
targets=() # "pkg target" pairs
for p in $(go list "$pkg"); do
	for t in $(go test -list '^Fuzz' "$p" | grep '^Fuzz' || true); do
		if [ -z "$run" ] || echo "$t" | grep -Eq -- "$run"; then
			targets+=("$p $t")
		fi
	done
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found in $pkg${run:+ matching $run}" >&2
	exit 2
fi
share=$((total_s / ${#targets[@]}))
[ "$share" -ge 1 ] || share=1
echo "fuzz.sh: ${#targets[@]} targets, ${share}s each (total ${total}), -parallel=$parallel, logs in $logdir"

rows=() failed=0
for pt in "${targets[@]}"; do
	p=${pt% *} t=${pt#* }
	log="$logdir/$t.log"
	echo "==> $t ($p) for ${share}s"
	start=$(date +%s)
	status=PASS
	if ! go test -run='^$' -fuzz="^${t}\$" -fuzztime="${share}s" -fuzzminimizetime="$minimize" \
		-parallel="$parallel" "$p" >"$log" 2>&1; then
		status=FAIL
		failed=1
		grep -E 'Failing input written to|--- FAIL|\.go:[0-9]+:' "$log" | head -5 | sed 's/^/    /' || true
	fi
	secs=$(($(date +%s) - start))
	# The last progress line holds the totals:
	# fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), new interesting: 12 (total: 40)
	last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -1 || true)
	execs=$(echo "$last" | sed -nE 's/.*execs: ([0-9]+).*/\1/p')
	newi=$(echo "$last" | sed -nE 's/.*new interesting: ([0-9]+).*/\1/p')
	corpus=$(echo "$last" | sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p')
	rate=-
	if [ -n "$execs" ]; then rate=$((execs / share)); fi
	rows+=("$t|$p|${secs}s|${execs:--}|$rate|${newi:--}|${corpus:--}|$status")
done

echo
printf '%-22s %-40s %7s %12s %9s %8s %8s %s\n' TARGET PACKAGE TIME EXECS EXECS/S NEW CORPUS RESULT
for r in "${rows[@]}"; do
	IFS='|' read -r t p s e x n c st <<<"$r"
	printf '%-22s %-40s %7s %12s %9s %8s %8s %s\n' "$t" "$p" "$s" "$e" "$x" "$n" "$c" "$st"
done
echo
echo "NEW = new interesting inputs (new coverage) found in this run; CORPUS = seed + cached corpus size at the end."
exit $failed
