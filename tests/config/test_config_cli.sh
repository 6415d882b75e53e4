#!/bin/bash
# `basin config --dump FILE` on bad files: exit status 1 and exactly one stderr line
# `basin: error: <file>:<section.key>: ...`, also under mpirun with 2 ranks; and a good file whose
# dump exits 0 and reads back to the same dump.
set -u
B=${BASIN_EXE:?}
MPI="mpirun -n 2 --oversubscribe --allow-run-as-root"
D=$(mktemp -d "${TMPDIR:-/tmp}/basin_config_cli.XXXXXX")
trap 'rm -rf "$D"' EXIT
fail=0
REQ=$'[system]\nkind = glass\nnatoms = 500\n[md]\ntemperature = 0.01\n'

# expect_error NAME PREFIX TEXT [LAUNCHER...]: TEXT goes to $D/NAME.ini; PREFIX follows the file.
expect_error() {
    local name=$1 prefix=$2 text=$3
    shift 3
    local f="$D/$name.ini"
    printf '%s' "$text" >"$f"
    local err rc lines want="basin: error: $f:$prefix"
    err=$("$@" "$B" config --dump "$f" 2>&1 >/dev/null)
    rc=$?
    if [ $# -eq 0 ]; then
        lines=$(printf '%s\n' "$err" | wc -l)
    else
        # mpirun adds its own banner about the non-zero exit; count basin's lines only.
        lines=$(printf '%s\n' "$err" | grep -c 'basin')
        err=$(printf '%s\n' "$err" | grep 'basin')
    fi
    if [ $rc -ne 1 ]; then
        echo "FAIL: $name: exit status $rc, want 1"
        fail=1
    fi
    if [ "$lines" -ne 1 ]; then
        echo "FAIL: $name: $lines lines on stderr, want 1:"
        printf '%s\n' "$err"
        fail=1
    elif [[ "$err" != "$want"* ]]; then
        echo "FAIL: $name: got '$err', want '$want...'"
        fail=1
    fi
}

expect_error unknown_key "md.temprature: unknown key" "${REQ}temprature = 1"$'\n'
expect_error unknown_section "sytem.seed: unknown section [sytem]" "${REQ}[sytem]"$'\nseed = 2\n'
expect_error not_a_number "md.dt: must be a number, got 'abc'" "${REQ}dt = abc"$'\n'
expect_error not_an_integer "md.nve_steps: must be an integer, got '1.5'" "${REQ}nve_steps = 1.5"$'\n'
expect_error bad_bool "output.velocities: must be one of" "${REQ}[output]"$'\nvelocities = maybe\n'
expect_error out_of_range "thermostat.chain: must be in [1, 10], got '0'" "${REQ}[thermostat]"$'\nchain = 0\n'
expect_error missing_required "md.temperature: required key is missing" $'[system]\nkind = glass\nnatoms = 500\n'
expect_error duplicate "md.temperature: duplicate key" "${REQ}temperature = 2"$'\n'
expect_error syntax "line 6: syntax error" "${REQ}natoms 500"$'\n'
expect_error crystal_size "system.natoms: must be 4 k^3 for the FCC crystal; the nearest valid sizes are 256 and 500, got '300'" \
    $'[system]\nkind = crystal\nnatoms = 300\n[md]\ntemperature = 0.1\n'
expect_error glass_box "system.natoms: box edge" $'[system]\nkind = glass\nnatoms = 100\n[md]\ntemperature = 0.1\n'
expect_error mpi_two_ranks "md.dt: must be > 0, got '-1'" "${REQ}dt = -1"$'\n' $MPI

# A missing file names the file and the system's reason.
err=$("$B" config --dump "$D/none.ini" 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 1 ] || [ "$err" != "basin: error: $D/none.ini: cannot open: No such file or directory" ]; then
    echo "FAIL: missing file: status $rc, '$err'"
    fail=1
fi

# A good file: exit 0, nothing on stderr, and the dump is itself a configuration that dumps to
# the same text.
printf '%s[output]\ndir = out\n[inherent]\nenabled = yes\n' "$REQ" >"$D/good.ini"
"$B" config --dump "$D/good.ini" >"$D/dump1.ini" 2>"$D/err1"
rc=$?
if [ $rc -ne 0 ] || [ -s "$D/err1" ]; then
    echo "FAIL: good file: status $rc, stderr: $(cat "$D/err1")"
    fail=1
fi
if ! grep -qx 'enabled = true' "$D/dump1.ini" || ! grep -qx 'dir = out' "$D/dump1.ini"; then
    echo "FAIL: good file: dump lacks the file's values:"
    cat "$D/dump1.ini"
    fail=1
fi
"$B" config --dump "$D/dump1.ini" >"$D/dump2.ini"
rc=$?
if [ $rc -ne 0 ] || ! cmp -s "$D/dump1.ini" "$D/dump2.ini"; then
    echo "FAIL: dump of the dump differs (status $rc)"
    diff "$D/dump1.ini" "$D/dump2.ini"
    fail=1
fi

# docs/usage.md documents every key that the dump lists.
if [ -n "${BASIN_SOURCE_ROOT:-}" ] && [ -f "$BASIN_SOURCE_ROOT/docs/usage.md" ]; then
    section=
    while read -r line; do
        case $line in
        \[*\]) section=${line#[}; section=${section%]} ;;
        *' = '*)
            key="$section.${line%% = *}"
            if ! grep -qF "| \`$key\` |" "$BASIN_SOURCE_ROOT/docs/usage.md"; then
                echo "FAIL: docs/usage.md has no table row for $key"
                fail=1
            fi
            ;;
        esac
    done <"$D/dump1.ini"
fi

[ $fail -eq 0 ] && echo "PASS: config_cli" || exit 1
