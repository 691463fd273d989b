# Sourced by scripts/test.sh: a Java runtime for the Spark engine's tests (local mode).
#
# Spark 4 needs Java 17 or newer. When `java` is missing this installs Debian's
# default-jre-headless with apt-get (scripts/_apt.sh), logging to a temporary file. It prints one
# line, saying which Java is ready or why there is none, and carries on either way: without it
# the Spark tests are skipped, with the reason.

source "$(dirname "${BASH_SOURCE[0]}")/_apt.sh"

_medler_java_install() {
    medler_apt_install "$1" default-jre-headless
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
