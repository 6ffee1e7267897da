# shellcheck shell=bash
# Shared helpers for scripts/services/{up,down,status}. Sourced, not executed.
#
# Layout: every server keeps its data, logs and pid file under $SERVICES_DIR/<name>/
# (default <repo>/.services, git-ignored). Each server is described by scripts/services/<name>/service.sh,
# which defines <name>_packages, <name>_installed, <name>_install, <name>_start, <name>_answers,
# <name>_ready, <name>_provision, <name>_stop_extra, <name>_ports, <name>_log and <name>_proc.

set -o pipefail

SERVICES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_SRC/../.." && pwd)"
SERVICES_DIR="${BSPUMP_SERVICES_DIR:-$REPO_ROOT/.services}"
SERVICES_TIMEOUT="${BSPUMP_SERVICES_TIMEOUT:-180}"   # seconds a server gets to become ready
ALL_SERVICES=(kafka opensearch rabbitmq mariadb influxdb postgres memcached ftp ssh ldap)

for _svc in "${ALL_SERVICES[@]}"; do
  # shellcheck source=/dev/null
  source "$SERVICES_SRC/$_svc/service.sh"
done
unset _svc

# ---------------------------------------------------------------- output

# Times in microseconds from bash's EPOCHREALTIME (no external tools).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
_T0=$(now_us)
# elapsed [start-us]: seconds since start (default: since the script began), one decimal.
elapsed() { local d=$(( $(now_us) - ${1:-$_T0} )); printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000)); }

# log <service> <message...>
log() { local s=$1; shift; printf '[%6ss] %-10s %s\n' "$(elapsed)" "$s" "$*"; }
err() { local s=$1; shift; printf '[%6ss] %-10s ERROR: %s\n' "$(elapsed)" "$s" "$*" >&2; }

# tail_log <service> <file> [lines]: show the end of a log after a failure.
tail_log() {
  local s=$1 f=$2 n=${3:-40}
  if [[ -s $f ]]; then
    printf -- '----- %s: last %d lines of %s -----\n' "$s" "$n" "$f" >&2
    tail -n "$n" "$f" | cut -c1-400 >&2
    printf -- '----- end of %s -----\n' "$f" >&2
  else
    printf -- '----- %s: %s is empty or missing -----\n' "$s" "$f" >&2
  fi
}

# ---------------------------------------------------------------- names

# resolve_names [name...]: validate, de-duplicate, keep the canonical order; no names = all.
resolve_names() {
  local want=("$@") out=() n s ok
  if ((${#want[@]} == 0)); then want=("${ALL_SERVICES[@]}"); fi
  for n in "${want[@]}"; do
    ok=0
    for s in "${ALL_SERVICES[@]}"; do [[ $n == "$s" ]] && ok=1; done
    if ((!ok)); then
      echo "unknown service '$n' (known: ${ALL_SERVICES[*]})" >&2
      return 2
    fi
  done
  for s in "${ALL_SERVICES[@]}"; do
    for n in "${want[@]}"; do
      if [[ $n == "$s" ]]; then out+=("$s"); break; fi
    done
  done
  echo "${out[@]}"
}

# ---------------------------------------------------------------- processes and ports

svc_dir() { echo "$SERVICES_DIR/$1"; }
pid_file() { echo "$SERVICES_DIR/$1/$1.pid"; }

# pid_alive <pidfile> <cmdline-regex>: print the pid if the process lives and is the one we started.
pid_alive() {
  local f=$1 pat=$2 pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: the command line must still match.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq -- "$pat" || return 1
  echo "$pid"
}

# port_open <host> <port>: does something accept TCP connections there?
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# http_ok <url> [curl args...]: 2xx answer within 5 s.
http_ok() { local url=$1; shift; curl -fsS -o /dev/null --max-time 5 "$@" "$url" 2>/dev/null; }

# wait_for <seconds> <what> <command...>: poll the command every 0.25 s until it succeeds.
# Fails early when the pid in $WAIT_PID (if set) dies.
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  while :; do
    if "$@"; then return 0; fi
    if [[ -n ${WAIT_PID:-} ]] && ! kill -0 "$WAIT_PID" 2>/dev/null; then
      WAIT_FAILURE="process $WAIT_PID exited while waiting for $what"
      return 1
    fi
    if (( $(date +%s) >= end )); then
      WAIT_FAILURE="timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.25
  done
}

# spawn <log> <pidfile> <command...>: start a server detached (own session, no stdin, output
# appended to <log>) and record its pid. The command must exec the server so the pid is the server's.
# fds 6-9 (the scripts' lock files) are closed so the server does not hold our locks.
spawn() {
  local logf=$1 pidf=$2; shift 2
  setsid nohup "$@" >>"$logf" 2>&1 </dev/null 6>&- 7>&- 8>&- 9>&- &
  echo $! >"$pidf"
}

# rotate_log <file>: keep the previous run's log as <file>.1 so a tail shows this start only.
rotate_log() { [[ -e $1 ]] && mv -f "$1" "$1.1"; : >"$1"; }

# kill_pid <service> <pid> <label> [seconds]: TERM, wait, then KILL.
kill_pid() {
  local s=$1 pid=$2 label=$3 limit=${4:-30} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "$s" "stopped $label (pid $pid)"; return 0; }
    sleep 0.1
  done
  log "$s" "$label (pid $pid) still running after ${limit}s, sending KILL"
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
}

# listening <pid>: the addresses a process listens on (for status and checks).
listening() { ss -ltnpH 2>/dev/null | awk -v p="pid=$1," 'index($0, p) { print $4 }' | sort -u | tr '\n' ' '; }

# ---------------------------------------------------------------- installation

deb_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

# apt_install <pkg...>: install the missing Debian packages in one apt-get run (serialized with a lock).
# Services must not start at install time: keep (or briefly add) the policy-rc.d that forbids it.
apt_install() {
  local missing=() p rc=0 added_policy=0 log_file="$SERVICES_DIR/apt.log"
  (( $(id -u) == 0 )) || { echo "installing Debian packages needs root" >&2; return 1; }
  exec 8>"$SERVICES_DIR/.apt.lock"
  flock -w 900 8 || { echo "could not get $SERVICES_DIR/.apt.lock" >&2; return 1; }
  for p in "$@"; do deb_installed "$p" || missing+=("$p"); done
  if ((${#missing[@]} > 0)); then
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\n# added by bspump scripts/services during apt-get install\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      added_policy=1
    fi
    {
      echo "== $(date -Is) apt-get update && apt-get install ${missing[*]}"
      apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    } >>"$log_file" 2>&1 || rc=$?
    ((added_policy)) && rm -f /usr/sbin/policy-rc.d
    if ((rc != 0)); then
      echo "apt-get failed (exit $rc) installing: ${missing[*]}" >&2
      tail_log apt "$log_file" 30
    fi
  fi
  exec 8>&-
  return $rc
}

# mvn_fetch <service> <pom> <libs-dir>: copy the pom's runtime dependencies into libs-dir once
# (re-done when the pom changes). Maven runs one at a time: ~/.m2 is shared.
mvn_fetch() {
  local s=$1 pom=$2 libs=$3 sum rc=0
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  if [[ -f $libs/.pom.sha256 && $(<"$libs/.pom.sha256") == "$sum" ]]; then return 0; fi
  log "$s" "fetching jars from Maven Central ($(basename "$(dirname "$pom")")/pom.xml)"
  exec 9>"$SERVICES_DIR/.mvn.lock"
  flock -w 900 9 || { err "$s" "could not get $SERVICES_DIR/.mvn.lock"; return 1; }
  rm -rf "$libs.new"
  mvn -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$libs.new" >"$SERVICES_DIR/$s/mvn.log" 2>&1 || rc=$?
  exec 9>&-
  if ((rc != 0)); then
    err "$s" "mvn dependency:copy-dependencies failed (exit $rc)"
    tail_log "$s" "$SERVICES_DIR/$s/mvn.log" 30
    return 1
  fi
  rm -rf "$libs"
  mv "$libs.new" "$libs"
  echo "$sum" >"$libs/.pom.sha256"
  log "$s" "$(find "$libs" -name '*.jar' | wc -l) jars in ${libs#"$REPO_ROOT"/}"
}

# Java tools for the Maven-based servers.
java_packages() {
  command -v java >/dev/null && command -v javac >/dev/null || echo openjdk-17-jdk-headless
  command -v mvn >/dev/null || echo maven
}

# ---------------------------------------------------------------- one service

# service_up <name> <all-missing-debian-packages...>: install if needed, start unless already
# answering, wait until ready, provision. Serialized per service with a lock.
service_up() {
  local s=$1; shift
  local dir pidf pid t0
  dir=$(svc_dir "$s"); pidf=$(pid_file "$s"); t0=$(now_us)
  mkdir -p "$dir"
  # fd 7: one `up` at a time per service (another `up` waits here, then finds it running).
  exec 7>"$dir/.lock"
  flock -w "$((SERVICES_TIMEOUT + 900))" 7 || { err "$s" "could not get $dir/.lock"; return 1; }

  if pid=$(pid_alive "$pidf" "$("${s}"_proc)"); then
    if "${s}"_answers; then
      log "$s" "already running (pid $pid), nothing to start"
      "${s}"_provision || return 1
      return 0
    fi
    log "$s" "pid $pid is alive but not answering yet, waiting"
  elif "${s}"_answers; then
    log "$s" "WARNING: something not started by these scripts already answers on $("${s}"_ports); using it as is"
    return 0
  else
    # Install what is missing: Debian packages (one apt-get for all services), then the service's own setup.
    if ! "${s}"_installed; then
      if (($# > 0)); then
        log "$s" "installing Debian packages: $*"
        apt_install "$@" || { err "$s" "package installation failed"; return 1; }
      fi
      "${s}"_installed || { err "$s" "still not installed after apt-get"; return 1; }
    fi
    "${s}"_install || { err "$s" "setup failed"; return 1; }
    rm -f "$pidf"
    "${s}"_start || { err "$s" "start command failed"; tail_log "$s" "$("${s}"_log)"; return 1; }
    pid=$(<"$pidf")
    log "$s" "started (pid $pid), waiting until it answers"
  fi

  WAIT_PID=$pid WAIT_FAILURE=''
  if ! "${s}"_ready; then
    err "$s" "${WAIT_FAILURE:-not ready}"
    tail_log "$s" "$("${s}"_log)"
    if kill -0 "$pid" 2>/dev/null; then kill_pid "$s" "$pid" "$s" 20; fi
    "${s}"_stop_extra
    rm -f "$pidf"
    return 1
  fi
  unset WAIT_PID
  "${s}"_provision || { err "$s" "provisioning failed"; tail_log "$s" "$("${s}"_log)"; return 1; }
  log "$s" "ready in $(elapsed "$t0")s on $(listening "$pid")"
}

# service_down <name>: stop the process recorded in the pid file (and helpers such as epmd).
service_down() {
  local s=$1 pid pidf
  pidf=$(pid_file "$s")
  if pid=$(pid_alive "$pidf" "$("${s}"_proc)"); then
    log "$s" "stopping pid $pid"
    kill_pid "$s" "$pid" "$s" 60
  else
    if "${s}"_answers 2>/dev/null; then
      log "$s" "not started by these scripts (no live pid file) but something answers on $("${s}"_ports); left alone"
    else
      log "$s" "not running"
    fi
  fi
  rm -f "$pidf"
  "${s}"_stop_extra
  return 0
}

# service_status <name>: one line; exit 0 when running and answering.
service_status() {
  local s=$1 pid
  if pid=$(pid_alive "$(pid_file "$s")" "$("${s}"_proc)"); then
    if "${s}"_answers; then
      printf '%-10s running   pid %-7s answering   listening on %s\n' "$s" "$pid" "$(listening "$pid")"
      return 0
    fi
    printf '%-10s starting  pid %-7s not answering yet (log: %s)\n' "$s" "$pid" "$("${s}"_log)"
    return 1
  fi
  if "${s}"_answers; then
    printf '%-10s foreign   something not started by these scripts answers on %s\n' "$s" "$("${s}"_ports)"
    return 0
  fi
  printf '%-10s stopped\n' "$s"
  return 1
}

# ---------------------------------------------------------------- the test login of ftp and ssh

# The system user the FTP and SSH servers let in (password `bspump`, no shell; home "/", which
# vsftpd enters before local_root): vsftpd and sshd authenticate real accounts. Created once, shared by both servers; serialized with a lock.
TEST_USER=bspump
test_user() {
  exec 6>"$SERVICES_DIR/.user.lock"
  flock -w 60 6 || { echo "could not get $SERVICES_DIR/.user.lock" >&2; return 1; }
  if ! id "$TEST_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin "$TEST_USER" || { exec 6>&-; return 1; }
  fi
  echo "$TEST_USER:bspump" | chpasswd || { exec 6>&-; return 1; }
  exec 6>&-
}

# ---------------------------------------------------------------- data owned by a system user

# user_can <user> <command...>: run a check as another user (no shell, no pid change).
user_can() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@" 2>/dev/null; }

# owned_run_dir <service> <user>: a directory the server's own user (rabbitmq, mysql) owns, printed.
# Normally .services/<service>/run; when that user cannot reach the checkout (for example a repo
# under /root) or the path is too long for a unix socket, the data lives under
# /var/lib/bspump-services/<hash>/<service> and .services/<service>/run is a symlink to it.
owned_run_dir() {
  local s=$1 u=$2 d="$SERVICES_DIR/$1" alt
  mkdir -p "$d"
  alt="/var/lib/bspump-services/$(printf '%s' "$SERVICES_DIR" | sha256sum | cut -c1-12)/$s"
  if [[ -L $d/run ]]; then
    mkdir -p "$alt"
  elif ((${#d} > 80)) || ! user_can "$u" test -x "$d"; then
    mkdir -p "$alt"
    rm -rf "$d/run"
    ln -s "$alt" "$d/run"
  else
    mkdir -p "$d/run"
  fi
  chown "$u:$u" "$(readlink -f "$d/run")"
  readlink -f "$d/run"
}
