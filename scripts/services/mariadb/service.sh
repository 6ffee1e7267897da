# shellcheck shell=bash
# MariaDB (Debian mariadb-server): 127.0.0.1:3306, runs as user mysql, data in .services/mariadb/run/data.
# Database `bspump`; user bspump/bspump (@127.0.0.1 and @localhost) with all rights on bspump.* and
# on databases named bspump_* (tests create their own). root only through the unix socket.
# The binary log is on (row-based, full row images) for MySQLBinaryLogSource; bspump may read it
# (REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR) and, for tests, switch its settings (BINLOG ADMIN)
# and rotate it (RELOAD: FLUSH BINARY LOGS).

mariadb_packages() { echo mariadb-server; }
mariadb_installed() { command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null; }
mariadb_ports() { echo "127.0.0.1:3306"; }
mariadb_log() { echo "$SERVICES_DIR/mariadb/mariadb.log"; }
mariadb_proc() { echo 'mariadbd .*--port=3306'; }
mariadb_install() { :; }

_mariadb_socket() { echo "$(readlink -f "$SERVICES_DIR/mariadb/run")/mysqld.sock"; }

mariadb_start() {
  local d="$SERVICES_DIR/mariadb" r
  r=$(owned_run_dir mariadb mysql) || return 1
  rotate_log "$d/mariadb.log"
  if [[ ! -d $r/data/mysql ]]; then
    rm -rf "$r/data"
    if ! mariadb-install-db --no-defaults --user=mysql --datadir="$r/data" --skip-test-db \
      --auth-root-authentication-method=socket >>"$d/mariadb.log" 2>&1; then
      return 1
    fi
    log mariadb "initialised $r/data"
  fi
  spawn "$d/mariadb.log" "$d/mariadb.pid" mariadbd --no-defaults --user=mysql --datadir="$r/data" \
    --socket="$r/mysqld.sock" --pid-file="$r/mariadbd.pid" \
    --bind-address=127.0.0.1 --port=3306 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 --max-connections=300 \
    --server-id=1 --log-bin=mariadb-bin --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-annotate-row-events=ON --binlog-row-metadata=FULL --expire-logs-days=1 --max-binlog-size=64M --sync-binlog=0
}

# shellcheck disable=SC2120 # arguments are optional
_mariadb_root() { mariadb --no-defaults --protocol=socket --socket="$(_mariadb_socket)" -uroot "$@"; }

mariadb_answers() {
  port_open 127.0.0.1 3306 || return 1
  # When the socket is ours, check the server really answers queries.
  if [[ -S $(_mariadb_socket) ]]; then
    mariadb-admin --no-defaults --protocol=socket --socket="$(_mariadb_socket)" -uroot --connect-timeout=3 ping >/dev/null 2>&1
  fi
}

mariadb_ready() {
  wait_for "$SERVICES_TIMEOUT" "port 3306 and mariadb-admin ping" mariadb_answers
}

mariadb_provision() {
  # shellcheck disable=SC2119
  _mariadb_root <<'SQL'
CREATE DATABASE IF NOT EXISTS `bspump` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'bspump'@'127.0.0.1' IDENTIFIED BY 'bspump';
CREATE USER IF NOT EXISTS 'bspump'@'localhost' IDENTIFIED BY 'bspump';
GRANT ALL PRIVILEGES ON `bspump`.* TO 'bspump'@'127.0.0.1', 'bspump'@'localhost';
GRANT ALL PRIVILEGES ON `bspump\_%`.* TO 'bspump'@'127.0.0.1', 'bspump'@'localhost';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, BINLOG ADMIN, SLAVE MONITOR, RELOAD ON *.* TO 'bspump'@'127.0.0.1', 'bspump'@'localhost';
SET GLOBAL binlog_row_metadata = FULL;
SQL
}

mariadb_stop_extra() { :; }
