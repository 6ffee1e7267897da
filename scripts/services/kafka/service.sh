# shellcheck shell=bash
# Apache Kafka 4.x, KRaft single node: 127.0.0.1:9092 (PLAINTEXT), controller 127.0.0.1:9093.
# Jars from Maven Central (kafka/pom.xml) in .services/kafka/libs; data in .services/kafka/data.

KAFKA_JAVA_OPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true)

kafka_packages() { java_packages; }
kafka_installed() { command -v java >/dev/null && command -v mvn >/dev/null; }
kafka_ports() { echo "127.0.0.1:9092 (controller 127.0.0.1:9093)"; }
kafka_log() { echo "$SERVICES_DIR/kafka/kafka.log"; }
kafka_proc() { echo 'java .*kafka\.Kafka '; }

kafka_install() {
  mvn_fetch kafka "$SERVICES_SRC/kafka/pom.xml" "$SERVICES_DIR/kafka/libs"
}

_kafka_java() {
  java "${KAFKA_JAVA_OPTS[@]}" -Dlog4j2.configurationFile="$1" -cp "$SERVICES_DIR/kafka/libs/*" "${@:2}"
}

kafka_start() {
  local d="$SERVICES_DIR/kafka" id out
  mkdir -p "$d/data"
  sed "s#@LOG_DIRS@#$d/data#" "$SERVICES_SRC/kafka/server.properties" >"$d/server.properties"
  rotate_log "$d/kafka.log"
  if [[ ! -f $d/data/meta.properties ]]; then
    # First start: format the log dir as a new single-voter cluster.
    id=$(_kafka_java "$SERVICES_SRC/kafka/tools-log4j2.properties" kafka.tools.StorageTool random-uuid 2>>"$d/kafka.log") || return 1
    out=$(_kafka_java "$SERVICES_SRC/kafka/tools-log4j2.properties" kafka.tools.StorageTool \
      format --standalone -t "$id" -c "$d/server.properties" 2>&1) || { echo "$out" >>"$d/kafka.log"; return 1; }
    log kafka "formatted $d/data (cluster id $id)"
  fi
  spawn "$d/kafka.log" "$d/kafka.pid" java "${KAFKA_JAVA_OPTS[@]}" \
    -Dlog4j2.configurationFile="$SERVICES_SRC/kafka/log4j2.properties" \
    -cp "$d/libs/*" kafka.Kafka "$d/server.properties"
}

kafka_answers() { port_open 127.0.0.1 9092; }

_kafka_started() { grep -q 'Kafka Server started' "$SERVICES_DIR/kafka/kafka.log" && kafka_answers; }

kafka_ready() {
  wait_for "$SERVICES_TIMEOUT" "'Kafka Server started' and port 9092" _kafka_started || return 1
  # A client-level check: metadata, topic creation and the group coordinator (creates
  # __consumer_offsets now rather than during the first test). Needs the repo's node_modules.
  if [[ -d $REPO_ROOT/node_modules/kafkajs ]]; then
    local out
    if ! out=$(node "$SERVICES_SRC/kafka/probe.mjs" 2>&1); then
      # shellcheck disable=SC2034 # read by service_up in lib.sh
      WAIT_FAILURE="kafkajs probe failed: $out"
      return 1
    fi
    log kafka "$out"
  else
    log kafka "node_modules/kafkajs missing: skipped the client probe"
  fi
}

kafka_provision() { :; }
kafka_stop_extra() { :; }
