#!/usr/bin/env bash
# Runs uvdb-bench and the pgbench yardstick of docs/BENCHMARKS.md side by side,
# against the same server, in the same session, N times each (alternating),
# and prints the medians with the ratios docs/BENCHMARKS.md sets targets for.
#
#   scripts/bench-compare.sh                 3 runs (use -n 5 for the record)
#   scripts/bench-compare.sh -n 5 --ceilings also pgbench's protocol ceilings
#   scripts/bench-compare.sh -s conc_pooled -s rag
#   scripts/bench-compare.sh -s batch -s conc_pooled  the pipelined yardsticks
#   scripts/bench-compare.sh --uvdb-args "--warmup 20000"   extra uvdb-bench options
#
# The server: DATABASE_URL, else UVDB_TEST_URL, else a throwaway PostgreSQL
# started (and stopped) with scripts/pg-test-server.sh. The programs:
# UVDB_BENCH (default build/examples/uvdb-bench), PGBENCH (default pgbench
# on PATH, else PostgreSQL 15's) and LIBPQ_PIPELINE (default
# build/examples/uvdb-libpq-pipeline: libpq alone, pipelining with a Sync per
# statement as pool.query does, which pgbench 15 cannot). Raw results stay in the output
# directory (-o DIR, default a new /tmp/uvdb-bench-compare.XXXXXX).
#
# Only ratios inside one run mean something: runs on a shared 2-core
# machine differ by 25–75 % from one to the next.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=3
out_dir=
ceilings=0
scenarios=()
uvdb_extra=()

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    echo "options: -n RUNS  -o DIR  -s SCENARIO (repeatable)  --ceilings  --uvdb-args \"ARGS\"  -h"
    exit "${1:-0}"
}

while (($#)); do
    case $1 in
    -n | --runs) runs=$2; shift 2 ;;
    -o | --out) out_dir=$2; shift 2 ;;
    -s | --scenario) scenarios+=("$2"); shift 2 ;;
    --ceilings) ceilings=1; shift ;;
    --uvdb-args) read -r -a uvdb_extra <<<"$2"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "bench-compare: unknown argument $1" >&2; usage 2 ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: -n needs a positive number" >&2; exit 2; }
((${#scenarios[@]})) || scenarios=(seq_unpooled seq_pooled conc_pooled conc_unpooled rag)

log() { printf 'bench-compare: %s\n' "$*" >&2; }

uvdb_bench=${UVDB_BENCH:-build/examples/uvdb-bench}
[[ -x $uvdb_bench ]] || { log "no $uvdb_bench: build it (cmake --build build) or set UVDB_BENCH"; exit 1; }
pgbench=${PGBENCH:-$(command -v pgbench || true)}
[[ -n $pgbench ]] || pgbench=/usr/lib/postgresql/15/bin/pgbench
libpq_pipeline=${LIBPQ_PIPELINE:-build/examples/uvdb-libpq-pipeline}
[[ -x $pgbench ]] || { log "pgbench not found: set PGBENCH"; exit 1; }

if [[ -n ${DATABASE_URL:-} ]]; then
    url=$DATABASE_URL
elif [[ -n ${UVDB_TEST_URL:-} ]]; then
    url=$UVDB_TEST_URL
else
    pg_dir=$(mktemp -d /tmp/uvdb-pg.XXXXXX)
    trap 'scripts/pg-test-server.sh stop "$pg_dir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    scripts/pg-test-server.sh start "$pg_dir" >&2
    # shellcheck disable=SC1091
    . "$pg_dir/env.sh"
    url=$UVDB_TEST_URL
fi
# Both programs get the same URL; libpq's PG* variables must not add to it.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^PG' || true)

out_dir=${out_dir:-$(mktemp -d /tmp/uvdb-bench-compare.XXXXXX)}
mkdir -p "$out_dir"
echo 'SELECT 1;' >"$out_dir/select1.sql"
for k in 0 1 2 3 4 5 6 7 8 9; do printf '\\set k %d\nSELECT :k::int + 1;\n' "$k"; done >"$out_dir/rag.sql"
# pipeline_script N STATEMENT [PRELUDE]: N statements between \startpipeline
# and \endpipeline (pgbench pipelines only with -M extended or prepared).
pipeline_script() {
    [[ -n ${3:-} ]] && printf '%s\n' "$3"
    printf '%s\n' '\startpipeline'
    for _ in $(seq "$1"); do echo "$2"; done
    printf '%s\n' '\endpipeline'
}
pipeline_script 50 'SELECT 1;' >"$out_dir/pipeline50.sql"   # --ceilings
pipeline_script 10 'SELECT 1;' >"$out_dir/pipeline10.sql"   # conc_pooled's pipelined yardstick
pipeline_script 100 'SELECT :k::int;' '\set k random(0, 99)' >"$out_dir/pipeline100.sql"  # batch

# run_pgbench NAME ARGS...: runs pgbench, keeps its output in NAME.log and
# prints "tps latency_ms failed cpu_s" (cpu: user + sys of the process).
run_pgbench() {
    local name=$1
    shift
    local TIMEFORMAT='%U %S' cpu
    cpu=$({ time "$pgbench" "$@" "$url" >"$out_dir/$name.log" 2>&1; } 2>&1) ||
        { log "pgbench failed ($name): $(tail -3 "$out_dir/$name.log")"; echo "nan nan nan nan"; return; }
    awk -v cpu="$cpu" '
        /^tps = /                      { tps = $3 }
        /^latency average = /          { lat = $4 }
        /^number of failed transactions/ { failed = $5 }
        END {
            split(cpu, c, " ")
            if (failed == "") failed = 0
            printf "%s %s %s %.4f\n", (tps == "" ? "nan" : tps), (lat == "" ? "nan" : lat), failed, c[1] + c[2]
        }' "$out_dir/$name.log"
}

# json_num LINE KEY: the number (or null) after "KEY": in a uvdb-bench JSON line.
json_num() { sed -n "s/.*\"$2\": \([^,}]*\).*/\1/p" <<<"$1" | sed 's/^null$/nan/'; }

# record SCENARIO METRIC VALUE: appends one run's value; medians come later.
record() { echo "$3" >>"$out_dir/$1.$2"; }

# pgbench per scenario: transactions per client and whether it reconnects.
pg_args() {
    case $1 in
    seq_pooled) echo "-f $out_dir/select1.sql -c 1 -j 1 -t 1000 -M prepared" ;;
    seq_unpooled) echo "-f $out_dir/select1.sql -c 1 -j 1 -t 1000 -M prepared -C" ;;
    conc_pooled) echo "-f $out_dir/select1.sql -c 100 -j 2 -t 200 -M prepared" ;;
    conc_unpooled) echo "-f $out_dir/select1.sql -c 100 -j 2 -t 20 -M prepared -C" ;;
    rag) echo "-f $out_dir/rag.sql -c 100 -j 2 -t 20 -M prepared" ;;
    # One pipeline of 100 statements per transaction, on the uvdb pool's
    # size in connections (20), 1000 pipelines in all as uvdb sends 1000 batches.
    batch) echo "-f $out_dir/pipeline100.sql -c 20 -j 2 -t 50 -M prepared" ;;
    esac
}
queries_per_txn() {
    case $1 in rag) echo 10 ;; batch) echo 100 ;; *) echo 1 ;; esac
}
clients_of() {
    case $1 in seq_*) echo 1 ;; batch) echo 20 ;; *) echo 100 ;; esac
}
txns_per_client() {
    case $1 in seq_*) echo 1000 ;; conc_pooled) echo 200 ;; batch) echo 50 ;; *) echo 20 ;; esac
}

has() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }

scenario_args=()
for s in "${scenarios[@]}"; do scenario_args+=(--scenario "$s"); done

for ((run = 1; run <= runs; run++)); do
    log "run $run of $runs: uvdb-bench ${scenarios[*]}"
    "$uvdb_bench" --json --quiet --url "$url" "${scenario_args[@]}" "${uvdb_extra[@]}" >"$out_dir/uvdb.$run.jsonl" \
        2>"$out_dir/uvdb.$run.err" || log "uvdb-bench failed: $(tail -3 "$out_dir/uvdb.$run.err")"
    while read -r line; do
        s=$(sed -n 's/.*"scenario": "\([a-z_]*\)".*/\1/p' <<<"$line")
        for key in ops_per_s mean_ms p50_ms p99_ms failures client_cpu_s ops queries_per_op; do
            record "$s" "uvdb_$key" "$(json_num "$line" "$key")"
        done
    done <"$out_dir/uvdb.$run.jsonl"

    for s in "${scenarios[@]}"; do
        log "run $run of $runs: pgbench $s"
        # shellcheck disable=SC2046  # pg_args is a list of words on purpose
        read -r tps lat failed _ <<<"$(run_pgbench "pgbench.$s.$run" -n $(pg_args "$s"))"
        record "$s" pg_tps "$tps"
        record "$s" pg_latency_ms "$lat"
        record "$s" pg_failed "$failed"
        if [[ $s == *_pooled || $s == rag || $s == batch ]]; then
            # pgbench's CPU includes opening its connections (about 9 ms each
            # with TLS + SCRAM, varying by more than the queries cost). So CPU
            # per query comes from two more runs: 10x the transactions, and one
            # transaction per client; the difference is the queries' own CPU.
            t=$(txns_per_client "$s")
            # shellcheck disable=SC2046
            read -r _ _ _ cpu_long <<<"$(run_pgbench "pgbench.$s.cpu.$run" -n \
                $(pg_args "$s" | sed "s/-t [0-9]*/-t $((t * 10))/"))"
            # shellcheck disable=SC2046
            read -r _ _ _ cpu_base <<<"$(run_pgbench "pgbench.$s.base.$run" -n \
                $(pg_args "$s" | sed 's/-t [0-9]*/-t 1/'))"
            clients=$(clients_of "$s")
            q_long=$((clients * t * 10 * $(queries_per_txn "$s")))
            q_base=$((clients * $(queries_per_txn "$s")))
            record "$s" pg_cpu_us_per_query "$(awk -v a="$cpu_long" -v b="$cpu_base" -v ql="$q_long" -v qb="$q_base" \
                'BEGIN { if (a == "nan" || b == "nan") print "nan"; else printf "%.2f", (a - b) * 1e6 / (ql - qb) }')"
        fi
    done
    # The 20-connection yardsticks: conc_pooled is set beside pgbench's
    # prepared SELECT 1 on 20 connections and beside the same in pipelines of
    # 10; --ceilings adds pipelines of 50. Each is run once per round.
    if ((ceilings)) || has conc_pooled; then
        log "run $run of $runs: pgbench -c 20 prepared"
        read -r tps _ _ _ <<<"$(run_pgbench "pgbench.ceiling.$run" -n -f "$out_dir/select1.sql" -c 20 -j 2 -T 10 -M prepared)"
        record ceiling pg_qps "$tps"
    fi
    if has conc_pooled; then
        log "run $run of $runs: pgbench -c 20 pipelines of 10"
        read -r tps _ _ _ <<<"$(run_pgbench "pgbench.pipelined10.$run" -n -f "$out_dir/pipeline10.sql" -c 20 -j 2 -T 10 -M prepared)"
        record ceiling pg_pipelined10_qps "$(awk -v t="$tps" 'BEGIN { print (t == "nan" ? "nan" : t * 10) }')"
    fi
    if has conc_pooled && [[ -x $libpq_pipeline ]]; then
        # The same protocol as pool.query's pipelining (a Sync per
        # statement, 16 in flight per connection, 20 connections) with
        # nothing but libpq: what the server allows these semantics.
        log "run $run of $runs: libpq alone, a Sync per statement"
        line=$("$libpq_pipeline" "$url" -c 20 -d 16 -g 1 -n 200000 2>"$out_dir/libpq.$run.err") || line=
        record ceiling libpq_sync_each_qps "$(sed -n 's/.*qps=\([0-9.]*\).*/\1/p' <<<"$line")"
        record ceiling libpq_sync_each_cpu_us "$(sed -n 's/.*client_cpu_us=\([0-9.]*\).*/\1/p' <<<"$line")"
    fi
    if ((ceilings)); then
        log "run $run of $runs: pgbench -c 20 pipelines of 50"
        read -r tps _ _ _ <<<"$(run_pgbench "pgbench.pipelined.$run" -n -f "$out_dir/pipeline50.sql" -c 20 -j 2 -T 10 -M prepared)"
        record ceiling pg_pipelined_qps "$(awk -v t="$tps" 'BEGIN { print (t == "nan" ? "nan" : t * 50) }')"
    fi
done

# median SCENARIO METRIC: the median of the recorded runs ("nan" when none).
median() {
    local f="$out_dir/$1.$2"
    [[ -s $f ]] || { echo nan; return; }
    grep -v '^nan$' "$f" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# worst SCENARIO METRIC: the largest recorded value (failures: any run counts).
worst() {
    local f="$out_dir/$1.$2"
    [[ -s $f ]] || { echo nan; return; }
    sort -g "$f" | tail -1
}

# row FIGURE UVDB PGBENCH RATIO TARGET VERDICT
row() { printf '| %-44s | %12s | %12s | %8s | %-22s | %-7s |\n' "$@"; }
num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf f, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "nan"; else printf "%.3f", a / b }'; }
verdict() { # VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "nan") { print "?"; exit }
        ok = (op == "<=") ? (v <= l) : (op == ">=") ? (v >= l) : (v == l)
        print ok ? "met" : "MISSED" }'
}

echo "uvdb-bench vs pgbench, medians of $runs runs ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "raw results: $out_dir"
((${#uvdb_extra[@]})) && echo "uvdb-bench options added: ${uvdb_extra[*]}"
echo
row "figure" "uvdb" "pgbench" "ratio" "target" "verdict"
row "--------------------------------------------" "------------" "------------" "--------" "----------------------" "-------"
if has seq_unpooled && has seq_pooled; then
    u=$(median seq_unpooled uvdb_mean_ms)
    p=$(median seq_pooled uvdb_mean_ms)
    r=$(ratio "$u" "$p")
    pr=$(ratio "$(median seq_unpooled pg_latency_ms)" "$(median seq_pooled pg_latency_ms)")
    row "seq_unpooled mean / seq_pooled mean" "$(num "$r" '%.0fx')" "$(num "$pr" '%.0fx')" "" ">= 200x" "$(verdict "$r" '>=' 200)"
fi
if has seq_unpooled; then
    u=$(median seq_unpooled uvdb_mean_ms)
    g=$(median seq_unpooled pg_latency_ms)
    row "seq_unpooled mean latency (ms, new conn)" "$(num "$u" '%.2f')" "$(num "$g" '%.2f')" "$(num "$(ratio "$u" "$g")" '%.2f')" "(information)" ""
fi
if has seq_pooled; then
    u=$(median seq_pooled uvdb_mean_ms)
    g=$(median seq_pooled pg_latency_ms)
    r=$(ratio "$u" "$g")
    row "seq_pooled mean latency (ms)" "$(num "$u" '%.4f')" "$(num "$g" '%.4f')" "$(num "$r" '%.2f')" "<= 1.2 x pgbench" "$(verdict "$r" '<=' 1.2)"
    u=$(median seq_pooled uvdb_ops_per_s)
    g=$(median seq_pooled pg_tps)
    row "seq_pooled throughput (q/s)" "$(num "$u" '%.0f')" "$(num "$g" '%.0f')" "$(num "$(ratio "$u" "$g")" '%.2f')" "(information)" ""
fi
if has conc_pooled; then
    u=$(median conc_pooled uvdb_ops_per_s)
    g=$(median conc_pooled pg_tps)
    r=$(ratio "$u" "$g")
    row "conc_pooled throughput (q/s)" "$(num "$u" '%.0f')" "$(num "$g" '%.0f')" "$(num "$r" '%.2f')" ">= 1.0 x pgbench" "$(verdict "$r" '>=' 1.0)"
    f=$(worst conc_pooled uvdb_failures)
    row "conc_pooled failures (worst run)" "$(num "$f" '%d')" "$(num "$(worst conc_pooled pg_failed)" '%d')" "" "0" "$(verdict "$f" '==' 0)"
    cpu=$(median conc_pooled uvdb_client_cpu_s)
    ops=$(median conc_pooled uvdb_ops)
    u=$(awk -v c="$cpu" -v n="$ops" 'BEGIN { if (c == "nan" || n + 0 == 0) print "nan"; else printf "%.2f", c * 1e6 / n }')
    g=$(median conc_pooled pg_cpu_us_per_query)
    r=$(ratio "$u" "$g")
    row "conc_pooled client CPU per query (us)" "$(num "$u" '%.1f')" "$(num "$g" '%.1f')" "$(num "$r" '%.2f')" "<= pgbench" "$(verdict "$r" '<=' 1.0)"
    ucpu=$u
    q20=$(median ceiling pg_qps)
    u=$(median conc_pooled uvdb_ops_per_s)
    r=$(ratio "$u" "$q20")
    row "conc_pooled vs pgbench -c 20 prepared (q/s)" "$(num "$u" '%.0f')" "$(num "$q20" '%.0f')" "$(num "$r" '%.2f')" ">= 2.0 x (pipelined)" "$(verdict "$r" '>=' 2.0)"
    lq=$(median ceiling libpq_sync_each_qps)
    row "conc_pooled vs libpq, a Sync per statement" "$(num "$u" '%.0f')" "$(num "$lq" '%.0f')" "$(num "$(ratio "$u" "$lq")" '%.2f')" "(information)" ""
    lc=$(median ceiling libpq_sync_each_cpu_us)
    row "  client CPU per query vs that libpq (us)" "$(num "$ucpu" '%.1f')" "$(num "$lc" '%.1f')" "$(num "$(ratio "$ucpu" "$lc")" '%.2f')" "(information)" ""
    p10=$(median ceiling pg_pipelined10_qps)
    row "conc_pooled vs pgbench -c 20 pipelines of 10" "$(num "$u" '%.0f')" "$(num "$p10" '%.0f')" "$(num "$(ratio "$u" "$p10")" '%.2f')" "(information)" ""
    row "conc_pooled p50 / p99 latency (ms)" "$(num "$(median conc_pooled uvdb_p50_ms)" '%.2f') / $(num "$(median conc_pooled uvdb_p99_ms)" '%.1f')" \
        "$(num "$(median conc_pooled pg_latency_ms)" '%.2f') avg" "" "(information)" ""
fi
if has rag; then
    u=$(median rag uvdb_ops_per_s)
    g=$(median rag pg_tps)
    r=$(ratio "$u" "$g")
    row "rag throughput (requests/s)" "$(num "$u" '%.0f')" "$(num "$g" '%.0f')" "$(num "$r" '%.2f')" ">= 1.0 x pgbench" "$(verdict "$r" '>=' 1.0)"
    f=$(worst rag uvdb_failures)
    row "rag failures (worst run)" "$(num "$f" '%d')" "$(num "$(worst rag pg_failed)" '%d')" "" "0" "$(verdict "$f" '==' 0)"
    cpu=$(median rag uvdb_client_cpu_s)
    ops=$(median rag uvdb_ops)
    u=$(awk -v c="$cpu" -v n="$ops" 'BEGIN { if (c == "nan" || n + 0 == 0) print "nan"; else printf "%.2f", c * 1e6 / (n * 10) }')
    row "rag client CPU per query (us)" "$(num "$u" '%.1f')" "$(num "$(median rag pg_cpu_us_per_query)" '%.1f')" \
        "$(num "$(ratio "$u" "$(median rag pg_cpu_us_per_query)")" '%.2f')" "(information)" ""
fi
if has batch; then
    # Statements per second: batches (pipelines) per second x 100.
    u=$(awk -v v="$(median batch uvdb_ops_per_s)" 'BEGIN { print (v == "nan" ? "nan" : v * 100) }')
    g=$(awk -v v="$(median batch pg_tps)" 'BEGIN { print (v == "nan" ? "nan" : v * 100) }')
    r=$(ratio "$u" "$g")
    row "batch stmts/s vs pgbench, pipelines of 100" "$(num "$u" '%.0f')" "$(num "$g" '%.0f')" "$(num "$r" '%.2f')" ">= 0.8 x pgbench" "$(verdict "$r" '>=' 0.8)"
    f=$(worst batch uvdb_failures)
    row "batch failures (worst run)" "$(num "$f" '%d')" "$(num "$(worst batch pg_failed)" '%d')" "" "0" "$(verdict "$f" '==' 0)"
    row "batch p50 / p99 latency per batch (ms)" "$(num "$(median batch uvdb_p50_ms)" '%.2f') / $(num "$(median batch uvdb_p99_ms)" '%.1f')" \
        "$(num "$(median batch pg_latency_ms)" '%.2f') avg" "" "(information)" ""
    cpu=$(median batch uvdb_client_cpu_s)
    ops=$(median batch uvdb_ops)
    u=$(awk -v c="$cpu" -v n="$ops" 'BEGIN { if (c == "nan" || n + 0 == 0) print "nan"; else printf "%.2f", c * 1e6 / (n * 100) }')
    g=$(median batch pg_cpu_us_per_query)
    row "batch client CPU per statement (us)" "$(num "$u" '%.1f')" "$(num "$g" '%.1f')" "$(num "$(ratio "$u" "$g")" '%.2f')" "(information)" ""
fi
if has conc_unpooled; then
    f=$(worst conc_unpooled uvdb_failures)
    row "conc_unpooled failures (worst run)" "$(num "$f" '%d')" "$(num "$(worst conc_unpooled pg_failed)" '%d')" "" "0" "$(verdict "$f" '==' 0)"
    u=$(median conc_unpooled uvdb_ops_per_s)
    g=$(median conc_unpooled pg_tps)
    row "conc_unpooled throughput (q/s, new conn)" "$(num "$u" '%.0f')" "$(num "$g" '%.0f')" "$(num "$(ratio "$u" "$g")" '%.2f')" "(information)" ""
fi
if ((ceilings)); then
    has conc_pooled || row "pgbench prepared ceiling, -c 20 (q/s)" "" "$(num "$(median ceiling pg_qps)" '%.0f')" "" "(information)" ""
    row "pgbench pipelined ceiling, -c 20 (q/s)" "" "$(num "$(median ceiling pg_pipelined_qps)" '%.0f')" "" "(information)" ""
fi
echo
echo "pgbench CPU per query = (CPU of a 10x-transactions run - CPU of a 1-transaction-per-client run) / extra queries;"
echo "uvdb-bench's client_cpu_s covers its timed phase only. Only ratios inside one run count."
