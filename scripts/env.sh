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
NASHSWARM_JVM_FLAGS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Dnashswarm.native.dir=$NASHSWARM_ROOT/native/target"
