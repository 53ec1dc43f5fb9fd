#!/usr/bin/env bash
# Mutation testing of the core: mutmut changes the code of each core module one small way
# at a time (a `<` for a `<=`, a constant, a dropped argument...) and runs the fast tests
# that cover what it changed; a mutant no test fails on is a survivor. At the end,
# tests/mutation/report.py prints each module's figures and fails on any survivor that
# tests/MUTATION.md does not accept as equivalent.
#
#   tests/mutation/run.sh                  every core module (about 1 h 30 on 2 cores)
#   tests/mutation/run.sh cursor throttle  only these (names: see MODULES below)
#   tests/mutation/run.sh --survivors [..] only the last run's survivors, after new tests
#
# MUTATION_WORKERS sets how many mutants are tested at once (default 2). mutmut works in
# mutants/ (a mutated copy of the tree, kept between runs; delete it to start afresh) and
# logs each module's run to mutants/run-<module>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODULES=(
    _fast_pages _headers _responses tokens params middleware.retry middleware.throttle partition
    auth.tokens auth.grant auth.app mirror.bookmark mirror.rows pagination scan cursor
)
survivors_only=false
if [ "${1:-}" = "--survivors" ]; then
    survivors_only=true
    shift
fi
modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
    modules=("${MODULES[@]}")
fi
for module in "${modules[@]}"; do
    if [[ ! " ${MODULES[*]} " == *" $module "* ]]; then
        echo "unknown module '$module'; one of: ${MODULES[*]}" >&2
        exit 2
    fi
done

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q -e '.[test,mutation]'

workers="${MUTATION_WORKERS:-2}"
mkdir -p mutants
if $survivors_only; then
    # Only the mutants that survived the last run, tested again (after new tests).
    mapfile -t names < <(.venv/bin/python tests/mutation/report.py --survivors "${modules[@]}")
    if [ ${#names[@]} -gt 0 ]; then
        echo "== testing ${#names[@]} survivors again (log: mutants/run-survivors.log)"
        if ! .venv/bin/mutmut run --max-children "$workers" "${names[@]}" \
            >mutants/run-survivors.log 2>&1; then
            tail -n 40 mutants/run-survivors.log >&2
            exit 1
        fi
        .venv/bin/python tests/mutation/import_time.py "${modules[@]}"
    fi
    exec .venv/bin/python tests/mutation/report.py "${modules[@]}"
fi
for module in "${modules[@]}"; do
    log="mutants/run-$module.log"
    start=$SECONDS
    echo "== mutating leadway_async.$module ($workers at a time; log: $log)"
    if ! .venv/bin/mutmut run --max-children "$workers" "leadway_async.$module.*" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "mutmut failed on leadway_async.$module; see $log" >&2
        exit 1
    fi
    .venv/bin/python tests/mutation/import_time.py "$module"
    echo "   done in $((SECONDS - start)) s"
done
.venv/bin/python tests/mutation/report.py "${modules[@]}"
