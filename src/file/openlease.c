/*
 * Whether another process holds a file open, asked of the kernel in one call: a Linux file lease
 * (fcntl F_SETLEASE) is refused with EAGAIN while a conflicting open exists. A read lease conflicts
 * with any open for writing, a write lease with any open at all. The lease is released at once.
 * This replaces a walk of /proc/<pid>/fd (one readlink per descriptor of every process: ~10 ms per
 * scan on a machine with ~1,000 descriptors open); FileABCSource falls back to that walk when this
 * module is not built or the kernel cannot tell (a file we do not own, a filesystem without leases).
 *
 * While the lease is held, another process opening the file breaks it and the kernel signals the
 * lease holder — with SIGIO by default, which terminates Node. The signal is set to SIGURG (ignored
 * unless handled) before the lease is taken.
 *
 * heldOpen(path, anyOpen[, holdMicroseconds]) -> 1 held open (for writing; at all when anyOpen),
 * 0 not, -errno cannot tell. holdMicroseconds keeps the lease that long: for the test of the signal.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>
#include <node_api.h>

static int held_open(const char *path, bool any_open, unsigned hold_microseconds) {
  /* O_NONBLOCK: if someone else holds a lease, fail with EWOULDBLOCK instead of waiting to break it. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno == EWOULDBLOCK ? 1 : -errno;
  int result = 0;
  if (fcntl(fd, F_SETSIG, SIGURG) != 0) {
    result = -errno;
  } else if (fcntl(fd, F_SETLEASE, any_open ? F_WRLCK : F_RDLCK) == 0) {
    if (hold_microseconds > 0) usleep(hold_microseconds);
    fcntl(fd, F_SETLEASE, F_UNLCK);
  } else {
    result = errno == EAGAIN ? 1 : -errno;
  }
  close(fd);
  return result;
}

static napi_value HeldOpen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[PATH_MAX];
  size_t length = 0;
  bool any_open = false;
  uint32_t hold_microseconds = 0;
  int result = -EINVAL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 2 &&
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) == napi_ok &&
      napi_get_value_bool(env, argv[1], &any_open) == napi_ok &&
      (argc < 3 || napi_get_value_uint32(env, argv[2], &hold_microseconds) == napi_ok)) {
    /* A path as long as the buffer may have been cut short. */
    result = length + 1 >= sizeof path ? -ENAMETOOLONG : held_open(path, any_open, hold_microseconds);
  }
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "heldOpen", NAPI_AUTO_LENGTH, HeldOpen, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "heldOpen", fn) != napi_ok) return NULL;
  return exports;
}
