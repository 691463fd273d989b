# Sourced by scripts/test.sh: a throwaway PostgreSQL server for the control plane's tests.
#
# Installs PostgreSQL when it is missing (apt-get), starts a private cluster in a fresh temporary
# directory (reachable only through a Unix socket in that directory, fsync off), creates a
# database in it and exports MEDLER_TEST_POSTGRES_URL. The server is stopped and the directory
# deleted when the sourcing shell exits. An already-set MEDLER_TEST_POSTGRES_URL is used as it
# is. When PostgreSQL cannot be had, this says why and carries on: the PostgreSQL tests are then
# skipped, with the reason.

source "$(dirname "${BASH_SOURCE[0]}")/_apt.sh"

_medler_pg_log=/dev/null
_medler_pg_dir=""
_medler_pg_bin=""
_medler_pg_user=""

# The newest server installed (Debian keeps each major version in /usr/lib/postgresql/N/bin),
# else one on PATH.
_medler_pg_find() {
    local dir found=""
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            found="$(printf '%s\n%s\n' "$found" "$dir" | sed '/^$/d' | sort -V | tail -n 1)"
        fi
    done
    if [ -z "$found" ] && command -v initdb >/dev/null 2>&1; then
        dir="$(dirname "$(readlink -f "$(command -v initdb)")")"
        if [ -x "$dir/postgres" ] && [ -x "$dir/pg_ctl" ]; then
            found="$dir"
        fi
    fi
    [ -n "$found" ] && _medler_pg_bin="$found"
}

_medler_pg_install() {
    medler_apt_install "$_medler_pg_log" postgresql
}

# Run a PostgreSQL program as the cluster's owner: initdb and pg_ctl refuse to run as root.
_medler_pg_as_owner() {
    if [ -z "$_medler_pg_user" ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$_medler_pg_user" -- "$@"
    else
        su -s /bin/sh "$_medler_pg_user" -c "$(printf '%q ' "$@")"
    fi
}

_medler_pg_stop() {
    if [ -n "$_medler_pg_dir" ] && [ -d "$_medler_pg_dir" ]; then
        if [ -f "$_medler_pg_dir/data/postmaster.pid" ]; then
            _medler_pg_as_owner "$_medler_pg_bin/pg_ctl" -D "$_medler_pg_dir/data" -m immediate \
                -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$_medler_pg_dir"
    fi
    _medler_pg_dir=""
}

_medler_pg_why() {
    local last
    last="$(sed '/^[[:space:]]*$/d' "$_medler_pg_log" 2>/dev/null | tail -n 1)"
    echo "${last:+ ($last)}"
}

_medler_pg_start() {
    local tmp="${TMPDIR:-/tmp}" port=5432 data
    if [ "$(id -u)" = 0 ]; then
        # the server runs as an unprivileged user, who must reach the directory
        _medler_pg_user=postgres
        getent passwd postgres >/dev/null 2>&1 || _medler_pg_user=nobody
        tmp=/tmp
    fi
    if ! _medler_pg_dir="$(mktemp -d "$tmp/medler-pg.XXXXXX")"; then
        echo "warning: could not make a directory in $tmp; the PostgreSQL tests will be skipped" >&2
        _medler_pg_dir=""
        return 1
    fi
    _medler_pg_log="$_medler_pg_dir/setup.log"
    : >"$_medler_pg_log"
    if ! _medler_pg_find; then
        if ! _medler_pg_install || ! _medler_pg_find; then
            echo "warning: PostgreSQL is not installed and could not be installed$(_medler_pg_why);" \
                "the PostgreSQL tests will be skipped" >&2
            return 1
        fi
    fi
    data="$_medler_pg_dir/data"
    if [ -n "$_medler_pg_user" ]; then
        chown "$_medler_pg_user" "$_medler_pg_dir" "$_medler_pg_log"
    fi
    if ! _medler_pg_as_owner "$_medler_pg_bin/initdb" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --no-locale --no-sync >>"$_medler_pg_log" 2>&1; then
        echo "warning: initdb failed$(_medler_pg_why); the PostgreSQL tests will be skipped" >&2
        return 1
    fi
    # a test server: no TCP, its socket in this directory, no durability, room for the racing
    # test's 50 processes
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$_medler_pg_dir'
port = $port
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if ! _medler_pg_as_owner "$_medler_pg_bin/pg_ctl" -D "$data" -l "$_medler_pg_dir/server.log" \
            -w -t 60 start >>"$_medler_pg_log" 2>&1; then
        cat "$_medler_pg_dir/server.log" >>"$_medler_pg_log" 2>/dev/null
        echo "warning: the PostgreSQL server did not start$(_medler_pg_why);" \
            "the PostgreSQL tests will be skipped" >&2
        return 1
    fi
    if ! "$_medler_pg_bin/createdb" -h "$_medler_pg_dir" -p "$port" -U postgres medler \
            >>"$_medler_pg_log" 2>&1; then
        echo "warning: could not create the test database$(_medler_pg_why);" \
            "the PostgreSQL tests will be skipped" >&2
        return 1
    fi
    MEDLER_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/medler?host=$_medler_pg_dir&port=$port"
    export MEDLER_TEST_POSTGRES_URL
    local version
    version="$("$_medler_pg_bin/postgres" --version | sed 's/^postgres (PostgreSQL) //')"
    echo "== postgresql: PostgreSQL $version is up for the tests"
}

if [ -z "${MEDLER_TEST_POSTGRES_URL:-}" ]; then
    # stop the server on exit, after whatever was to be done on exit already; an interrupt or
    # a kill exits the shell, so that happens then too
    _medler_pg_previous_trap="$(trap -p EXIT)"
    _medler_pg_previous_trap="${_medler_pg_previous_trap#trap -- }"
    _medler_pg_previous_trap="${_medler_pg_previous_trap% EXIT}"
    eval "_medler_pg_previous_trap=${_medler_pg_previous_trap:-''}"
    trap '_medler_pg_stop; eval "$_medler_pg_previous_trap"' EXIT
    [ -n "$(trap -p INT)" ] || trap 'exit 130' INT
    [ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM
    _medler_pg_start || _medler_pg_stop
fi
