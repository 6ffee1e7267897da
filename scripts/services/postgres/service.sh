# shellcheck shell=bash
# PostgreSQL (Debian postgresql, 15 on Debian 12): 127.0.0.1:5432, runs as user postgres, data in
# .services/postgres/run/data (initdb on first start), unix socket in .services/postgres/run.
# wal_level=logical with room for 20 replication slots and WAL senders (logical-replication tests);
# TLS on (a self-signed certificate for 127.0.0.1 in the data folder), plain TCP allowed too.
# Database `bspump`; user bspump/bspump with LOGIN, REPLICATION and CREATEDB (tests create their own
# databases named bspump_*). The superuser postgres only through the unix socket (peer auth).

_postgres_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [[ -x $d/postgres ]] && echo "$d"; done | sort -V | tail -n 1
}
postgres_packages() { echo postgresql openssl; }
postgres_installed() { [[ -n $(_postgres_bin) ]] && command -v psql >/dev/null && command -v openssl >/dev/null; }
postgres_ports() { echo "127.0.0.1:5432"; }
postgres_log() { echo "$SERVICES_DIR/postgres/postgres.log"; }
postgres_proc() { echo 'postgres .*-p 5432'; }
postgres_install() { :; }

_postgres_rundir() { readlink -f "$SERVICES_DIR/postgres/run"; }

postgres_start() {
  local d="$SERVICES_DIR/postgres" r bin
  bin=$(_postgres_bin)
  r=$(owned_run_dir postgres postgres) || return 1
  rotate_log "$d/postgres.log"
  if [[ ! -f $r/data/PG_VERSION ]]; then
    rm -rf "$r/data"
    if ! setpriv --reuid=postgres --regid=postgres --init-groups "$bin/initdb" -D "$r/data" \
      --auth-local=peer --auth-host=scram-sha-256 -U postgres -E UTF8 --locale=C.UTF-8 \
      >>"$d/postgres.log" 2>&1; then
      return 1
    fi
    # Loopback only: md5/scram for TCP (users and the replication protocol), peer on the socket.
    cat >"$r/data/pg_hba.conf" <<'HBA'
local   all          postgres                 peer
local   all          all                      scram-sha-256
host    all          all        127.0.0.1/32  scram-sha-256
host    replication  all        127.0.0.1/32  scram-sha-256
HBA
    chown postgres:postgres "$r/data/pg_hba.conf"
    log postgres "initialised $r/data"
  fi
  # TLS for the sslmode tests: a self-signed certificate for 127.0.0.1/localhost (plain TCP still works).
  if [[ ! -f $r/data/server.crt ]]; then
    openssl req -new -x509 -days 3650 -nodes -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$r/data/server.key" -out "$r/data/server.crt" >>"$d/postgres.log" 2>&1 || return 1
    chown postgres:postgres "$r/data/server.key" "$r/data/server.crt"
    chmod 600 "$r/data/server.key"
  fi
  spawn "$d/postgres.log" "$d/postgres.pid" setpriv --reuid=postgres --regid=postgres --init-groups \
    "$bin/postgres" -D "$r/data" -p 5432 -k "$r" -c listen_addresses=127.0.0.1 \
    -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 \
    -c max_connections=200 -c shared_buffers=128MB -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c wal_sender_timeout=60s -c logging_collector=off -c ssl=on
}

_postgres_psql() { setpriv --reuid=postgres --regid=postgres --init-groups psql -X -q -v ON_ERROR_STOP=1 -h "$(_postgres_rundir)" -p 5432 -U postgres "$@"; }

postgres_answers() {
  port_open 127.0.0.1 5432 || return 1
  # When the socket is ours, check the server really answers queries.
  if [[ -S $(_postgres_rundir)/.s.PGSQL.5432 ]]; then
    "$(_postgres_bin)/pg_isready" -q -h "$(_postgres_rundir)" -p 5432 -t 3 >/dev/null 2>&1
  fi
}

postgres_ready() {
  wait_for "$SERVICES_TIMEOUT" "port 5432 and pg_isready" postgres_answers
}

postgres_provision() {
  _postgres_psql -d postgres <<'SQL'
SELECT 'CREATE ROLE bspump LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bspump') \gexec
ALTER ROLE bspump LOGIN REPLICATION CREATEDB PASSWORD 'bspump';
SELECT 'CREATE DATABASE bspump OWNER bspump' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'bspump') \gexec
SQL
}

postgres_stop_extra() { :; }
