# Sourced by the scripts: picks a JDK >= 25 (JAVA_HOME if it is one, else Temurin 25) and the JVM flags.
_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(_java_major "$JAVA_HOME")" -lt 25 ] 2>/dev/null; then
  if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
  elif [ -n "$(command -v java)" ] && [ "$(_java_major "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")" -ge 25 ] 2>/dev/null; then
    export JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  else
    echo "nashswarm: needs JDK 25 or newer; set JAVA_HOME" >&2
    exit 1
  fi
fi
export PATH="$JAVA_HOME/bin:$PATH"
NASHSWARM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# -Xmn64m: a young generation of 64 MiB. Left to grow, ParallelGC sized it to the JIT warm-up's allocation (the Vector
# API boxes its vectors until C2 compiles the kernels), and the process kept 1.5 GB of empty heap resident: llama-1b int4
# RSS 2347 -> 895 MB, stories110M int4 978 -> 258 MB, decode and prefill speed unchanged (bench/results/grouped-products-2026-12-04.md).
NASHSWARM_JVM_FLAGS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmn64m -Dnashswarm.native.dir=$NASHSWARM_ROOT/native/target"
# The command prefix that runs java with the JDK's "WARNING: Using incubator modules: jdk.incubator.vector"
# line kept off stderr (scripts/lib/without-incubator-notice: everything else streams through; stdin, stdout,
# exit status and signals are the command's own). Empty, and the notice shown, where perl is missing.
if command -v perl >/dev/null 2>&1; then
  NASHSWARM_QUIET=(perl "$NASHSWARM_ROOT/scripts/lib/without-incubator-notice")
else
  NASHSWARM_QUIET=()
fi
