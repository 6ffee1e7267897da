# shellcheck shell=bash
# RabbitMQ (Debian rabbitmq-server): AMQP 127.0.0.1:5672, distribution 127.0.0.1:25672,
# epmd 127.0.0.1:4369 (our own epmd, stopped by `down`). Node bspump@localhost, runs as user rabbitmq.
# Mnesia, cookie and config in .services/rabbitmq/run; server output in .services/rabbitmq/rabbitmq.log.

rabbitmq_packages() { echo rabbitmq-server; }
rabbitmq_installed() { [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] && command -v epmd >/dev/null; }
rabbitmq_ports() { echo "127.0.0.1:5672 (distribution 127.0.0.1:25672, epmd 127.0.0.1:4369)"; }
rabbitmq_log() { echo "$SERVICES_DIR/rabbitmq/rabbitmq.log"; }
rabbitmq_proc() { echo 'beam\.smp .*-s rabbit boot'; }
rabbitmq_install() { :; }

_rabbitmq_env() {
  local r=$1
  export HOME="$r/home" \
    RABBITMQ_CONF_ENV_FILE="$r/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$r/mnesia" \
    RABBITMQ_LOG_BASE="$r/log" \
    RABBITMQ_NODENAME=bspump@localhost \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=5672 \
    RABBITMQ_DIST_PORT=25672 \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    ERL_EPMD_PORT=4369 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RUNNING_UNDER_SYSTEMD=true   # makes rabbitmq-server exec the VM: $! is the beam pid
}

rabbitmq_start() {
  local d="$SERVICES_DIR/rabbitmq" r
  r=$(owned_run_dir rabbitmq rabbitmq) || return 1
  mkdir -p "$r/home" "$r/mnesia" "$r/log"
  : >"$r/rabbitmq-env.conf"
  echo '[].' >"$r/enabled_plugins"
  cat >"$r/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
log.console = true
log.console.level = info
log.console.use_colors = off
log.file = false
disk_free_limit.absolute = 50MB
CONF
  chown -R rabbitmq:rabbitmq "$r"
  rotate_log "$d/rabbitmq.log"
  (
    _rabbitmq_env "$r"
    cd "$r" || exit 1
    # epmd (Erlang port mapper) on loopback, started by us so that `down` can stop it by pid.
    if ! port_open 127.0.0.1 4369; then
      : >"$d/epmd.log"
      spawn "$d/epmd.log" "$d/epmd.pid" setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
        epmd -address 127.0.0.1 -port 4369
      wait_for 10 "epmd on 4369" port_open 127.0.0.1 4369 || exit 1
    fi
    spawn "$d/rabbitmq.log" "$d/rabbitmq.pid" setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
      /usr/lib/rabbitmq/bin/rabbitmq-server
  )
}

# A real AMQP 0-9-1 answer: after the protocol header the server sends Connection.Start (frame type 1).
rabbitmq_answers() {
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\x00\x00\x09\x01" >&3 && head -c 1 <&3 | od -An -tx1' \
    2>/dev/null | grep -q 01
}

rabbitmq_ready() {
  wait_for "$SERVICES_TIMEOUT" "port 5672" port_open 127.0.0.1 5672 &&
    wait_for 30 "an AMQP Connection.Start on 5672" rabbitmq_answers
}

rabbitmq_provision() { :; }   # guest/guest may connect from loopback; tests use their own queues

rabbitmq_stop_extra() {
  local d="$SERVICES_DIR/rabbitmq" pid
  if pid=$(pid_alive "$d/epmd.pid" 'epmd'); then kill_pid rabbitmq "$pid" epmd 10; fi
  rm -f "$d/epmd.pid"
}
