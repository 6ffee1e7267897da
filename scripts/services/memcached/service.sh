# shellcheck shell=bash
# memcached (Debian memcached): 127.0.0.1:11211, TCP only (UDP off), 64 MiB, runs as user memcache
# (memcached refuses to run as root). Nothing is kept on disk; the log is .services/memcached/memcached.log.

memcached_packages() { echo memcached; }
memcached_installed() { [[ -x /usr/bin/memcached ]]; }
memcached_ports() { echo "127.0.0.1:11211"; }
memcached_log() { echo "$SERVICES_DIR/memcached/memcached.log"; }
memcached_proc() { echo 'memcached .*-p 11211'; }
memcached_install() { :; }

memcached_start() {
  local d="$SERVICES_DIR/memcached" user=memcache
  id -u "$user" >/dev/null 2>&1 || user=nobody
  rotate_log "$d/memcached.log"
  spawn "$d/memcached.log" "$d/memcached.pid" /usr/bin/memcached -l 127.0.0.1 -p 11211 -U 0 -m 64 -c 1024 -u "$user" -v
}

# Answers a `version` command (the text protocol), not just an open port.
memcached_answers() {
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/11211 && printf "version\r\n" >&3 && read -r line <&3 && [[ $line == VERSION* ]]' 2>/dev/null
}

memcached_ready() { wait_for "$SERVICES_TIMEOUT" "a VERSION answer on 127.0.0.1:11211" memcached_answers; }

memcached_provision() { :; }

memcached_stop_extra() { :; }
