# Sourced by scripts/test.sh: a Java runtime for the Spark engine's tests (local mode).
#
# Spark 4 needs Java 17 or newer. When `java` is missing this installs Debian's
# default-jre-headless with apt-get (non-interactive; through `sudo -n` when not root;
# `apt-get update` only if the first attempt fails), logging to a temporary file. It prints one
# line, saying which Java is ready or why there is none, and carries on either way: without it
# the Spark tests are skipped, with the reason.

_medler_java_install() {
    local log="$1"
    local -a run=()
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "there is no apt-get to install it with" >>"$log"
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "installing it needs root, and there is no sudo" >>"$log"
            return 1
        fi
        run=(sudo -n)
    fi
    local -a install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
                      --no-install-recommends default-jre-headless)
    "${run[@]}" "${install[@]}" >>"$log" 2>&1 && return 0
    "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 \
        && "${run[@]}" "${install[@]}" >>"$log" 2>&1
}

_medler_java_ready() {
    local log version last
    if ! command -v java >/dev/null 2>&1; then
        log="$(mktemp "${TMPDIR:-/tmp}/medler-java.XXXXXX.log" 2>/dev/null || echo /dev/null)"
        if ! _medler_java_install "$log" || ! command -v java >/dev/null 2>&1; then
            last="$(sed '/^[[:space:]]*$/d' "$log" 2>/dev/null | tail -n 1)" || last=""
            echo "== java: not installed${last:+ ($last)}; the Spark tests will be skipped" \
                "(log: $log)"
            return 0
        fi
    fi
    version="$(java -version 2>&1 | sed -n '1s/.*version "\([^"]*\)".*/\1/p')" || version=""
    echo "== java: Java ${version:-(version unknown)} ready for the Spark tests"
}

_medler_java_ready
