# shellcheck shell=bash
# OpenSearch 2.19 single node: HTTP 127.0.0.1:9200, transport 127.0.0.1:9300, security off.
# Jars from Maven Central (opensearch/pom.xml) in .services/opensearch/libs, started by
# BspumpOpenSearchLauncher (compiled into .services/opensearch/classes); node home .services/opensearch/home.

OPENSEARCH_JAVA_OPTS=(-Xms512m -Xmx512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8
  -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true)
OPENSEARCH_URL_BASE=http://127.0.0.1:9200

opensearch_packages() { java_packages; }
opensearch_installed() { command -v java >/dev/null && command -v javac >/dev/null && command -v mvn >/dev/null; }
opensearch_ports() { echo "127.0.0.1:9200 (transport 127.0.0.1:9300)"; }
opensearch_log() { echo "$SERVICES_DIR/opensearch/opensearch.log"; }
opensearch_proc() { echo 'java .*BspumpOpenSearchLauncher'; }

opensearch_install() {
  local d="$SERVICES_DIR/opensearch" src="$SERVICES_SRC/opensearch/BspumpOpenSearchLauncher.java" sum
  mvn_fetch opensearch "$SERVICES_SRC/opensearch/pom.xml" "$d/libs" || return 1
  # Compile the launcher when it (or the jars) changed.
  sum=$(cat "$src" "$d/libs/.pom.sha256" | sha256sum | cut -d' ' -f1)
  if [[ -f $d/classes/.sha256 && $(<"$d/classes/.sha256") == "$sum" ]]; then return 0; fi
  rm -rf "$d/classes"
  mkdir -p "$d/classes"
  if ! javac -nowarn -d "$d/classes" -cp "$d/libs/*" "$src" >"$d/javac.log" 2>&1; then
    err opensearch "javac failed"
    tail_log opensearch "$d/javac.log" 30
    return 1
  fi
  echo "$sum" >"$d/classes/.sha256"
  log opensearch "compiled $(basename "$src")"
}

opensearch_start() {
  local d="$SERVICES_DIR/opensearch"
  mkdir -p "$d/home/config" "$d/home/tmp"
  cp "$SERVICES_SRC/opensearch/log4j2.properties" "$d/home/config/log4j2.properties"
  rotate_log "$d/opensearch.log"
  spawn "$d/opensearch.log" "$d/opensearch.pid" java "${OPENSEARCH_JAVA_OPTS[@]}" \
    -Djava.io.tmpdir="$d/home/tmp" -Dbspump.os.home="$d/home" \
    -cp "$d/classes:$d/libs/*" BspumpOpenSearchLauncher
}

opensearch_answers() { http_ok "$OPENSEARCH_URL_BASE/"; }

_opensearch_yellow() { http_ok "$OPENSEARCH_URL_BASE/_cluster/health?wait_for_status=yellow&timeout=2s"; }

opensearch_ready() {
  wait_for "$SERVICES_TIMEOUT" "_cluster/health?wait_for_status=yellow" _opensearch_yellow
}

# One node can never assign replicas: make new indices default to none, so they are green, not
# yellow (a persistent cluster setting; as a node setting it is ignored). Idempotent.
opensearch_provision() {
  curl -fsS -o /dev/null --max-time 10 -XPUT "$OPENSEARCH_URL_BASE/_cluster/settings" \
    -H 'content-type: application/json' -d '{"persistent":{"cluster.default_number_of_replicas":0}}'
}
opensearch_stop_extra() { :; }
