/*
 * ctnet_native: the thin Node-API addon of ctnet.
 *
 * It does system calls only: netlink sockets (opened inside a network namespace), send/recv on them
 * (also on libuv's pool, for requests the kernel takes long over), multicast membership and
 * readiness callbacks from the event loop for the kernel's notifications, named network namespaces
 * (create/delete), per-namespace sysctls and exec inside a namespace. The netlink protocol itself
 * (messages, attributes, sequence numbers, ACKs) is TypeScript.
 *
 * The one rule: the process never stays switched into another namespace. A network namespace belongs
 * to an OS thread, and the thread that calls us is Node's main thread, which runs JavaScript and
 * spawns children afterwards. So every setns() below happens inside one synchronous call that switches
 * back before it returns, and no Node-API call (which could run JavaScript) is made while switched. If
 * switching back fails, the process aborts: continuing would silently run everything in the wrong
 * namespace.
 *
 * Errors are JS Errors with `errno` (positive, 17) and `syscall` ('open'); src/native/binding.ts
 * adds `code` ('EEXIST') and the message "<syscall> failed: <text>".
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define SELF_NETNS "/proc/thread-self/ns/net"
#define SOCKET_BUFFER_BYTES (1 << 20)
#define SYSCTL_MAX_BYTES 4096

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                         */

/* A Node-API call failed: make sure JS sees an exception rather than a silent undefined. */
static napi_value napi_failed(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info); /* must come first: later calls reset it */
  const char *message = info != NULL && info->error_message != NULL ? info->error_message
                                                                     : "Node-API call failed";
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, message);
  return NULL;
}

/* The same, for helpers that answer "did it work". */
static bool failed_bool(napi_env env) {
  napi_failed(env);
  return false;
}

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return napi_failed(env);   \
  } while (0)

/*
 * Error{errno, syscall}, message "<syscall> failed". Only the number: src/native/binding.ts names it
 * and words the message, with the table that also names the kernel's netlink errnos.
 */
static napi_value errno_error(napi_env env, int err, const char *syscall) {
  char message_buf[64];
  snprintf(message_buf, sizeof message_buf, "%s failed", syscall);
  napi_value message, error, errno_value, syscall_value;
  CHECK(napi_create_string_utf8(env, message_buf, NAPI_AUTO_LENGTH, &message));
  CHECK(napi_create_error(env, NULL, message, &error));
  CHECK(napi_create_int32(env, err, &errno_value));
  CHECK(napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value));
  CHECK(napi_set_named_property(env, error, "errno", errno_value));
  CHECK(napi_set_named_property(env, error, "syscall", syscall_value));
  return error;
}

/* Throws errno_error(). Returns NULL so that callers can `return throw_errno(...)`. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value error = errno_error(env, err, syscall);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

/* A caller passed a wrong argument: a programming error, so a TypeError without errno. */
static bool throw_type(napi_env env, const char *name, const char *what) {
  char message[128];
  snprintf(message, sizeof message, "%s %s", name, what);
  napi_throw_type_error(env, NULL, message);
  return false;
}

/* ---------------------------------------------------------------------------------------------- */
/* Arguments                                                                                      */

static bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *args) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok) return failed_bool(env);
  if (argc < count) {
    char message[64];
    snprintf(message, sizeof message, "expected %zu arguments, got %zu", count, argc);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  return true;
}

/* An integer that fits in an int (file descriptors, protocols, timeouts). */
static bool arg_int(napi_env env, napi_value value, const char *name, int *out) {
  napi_valuetype type;
  double number;
  if (napi_typeof(env, value, &type) != napi_ok) return failed_bool(env);
  if (type != napi_number) return throw_type(env, name, "must be a number");
  if (napi_get_value_double(env, value, &number) != napi_ok) return failed_bool(env);
  if (number != (double)(int)number || number < INT_MIN || number > INT_MAX) {
    return throw_type(env, name, "must be an integer in the int32 range");
  }
  *out = (int)number;
  return true;
}

/* A string copied into buf (NUL-terminated). Embedded NULs are refused: a path must not be cut short. */
static bool arg_string(napi_env env, napi_value value, const char *name, char *buf, size_t size) {
  napi_valuetype type;
  size_t length;
  if (napi_typeof(env, value, &type) != napi_ok) return failed_bool(env);
  if (type != napi_string) return throw_type(env, name, "must be a string");
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    return failed_bool(env);
  }
  if (length >= size) return throw_type(env, name, "is too long");
  if (napi_get_value_string_utf8(env, value, buf, size, &length) != napi_ok) {
    return failed_bool(env);
  }
  if (strlen(buf) != length) return throw_type(env, name, "must not contain NUL characters");
  return true;
}

/* A Buffer or any Uint8Array, without copying. */
static bool arg_bytes(napi_env env, napi_value value, const char *name, void **data, size_t *length) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok) return failed_bool(env);
  if (!is_typedarray) return throw_type(env, name, "must be a Buffer or Uint8Array");
  if (napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok) {
    return failed_bool(env);
  }
  if (type != napi_uint8_array) return throw_type(env, name, "must be a Buffer or Uint8Array");
  return true;
}

/* A sysctl key relative to /proc/sys, e.g. "net/ipv4/ip_forward"; it must not climb out of it. */
static bool arg_sysctl_path(napi_env env, napi_value value, char *path, size_t size) {
  static const char prefix[] = "/proc/sys/";
  char key[PATH_MAX];
  if (!arg_string(env, value, "key", key, sizeof key)) return false;
  if (key[0] == '\0' || key[0] == '/') return throw_type(env, "key", "must be relative to /proc/sys");
  for (const char *segment = key;;) {
    const char *end = strchr(segment, '/');
    size_t length = end != NULL ? (size_t)(end - segment) : strlen(segment);
    if (length == 2 && segment[0] == '.' && segment[1] == '.') {
      return throw_type(env, "key", "must not contain '..'");
    }
    if (end == NULL) break;
    segment = end + 1;
  }
  if (strlen(prefix) + strlen(key) >= size) return throw_type(env, "key", "is too long");
  snprintf(path, size, "%s%s", prefix, key);
  return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* The namespace bracket                                                                          */

/*
 * Switches the calling thread into ns_fd and returns a descriptor of the namespace it came from.
 * On failure returns -1 with errno set and *failed naming the call; the thread has not moved.
 */
static int ns_enter(int ns_fd, const char **failed) {
  int saved = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    *failed = "open";
    return -1;
  }
  if (setns(ns_fd, CLONE_NEWNET) != 0) {
    int err = errno;
    close(saved);
    errno = err;
    *failed = "setns";
    return -1;
  }
  return saved;
}

/* Switches back to the namespace ns_enter() saved; a thread stuck elsewhere is unsafe, so abort. */
static void ns_leave(int saved) {
  int err = errno; /* callers read errno of the bracketed call after this */
  if (setns(saved, CLONE_NEWNET) != 0) {
    perror("ctnet_native: cannot switch back to the original network namespace");
    abort();
  }
  close(saved);
  errno = err;
}

/* Opens path inside the network namespace ns_fd (or here if ns_fd < 0). */
static int open_in_netns(int ns_fd, const char *path, int flags, const char **failed) {
  int saved = -1;
  if (ns_fd >= 0 && (saved = ns_enter(ns_fd, failed)) < 0) return -1;
  int fd = open(path, flags | O_CLOEXEC);
  if (saved >= 0) ns_leave(saved);
  if (fd < 0) *failed = "open";
  return fd;
}

/* ---------------------------------------------------------------------------------------------- */
/* Netlink sockets                                                                                */

static int setsockopt_int(int fd, int level, int option, int value) {
  return setsockopt(fd, level, option, &value, sizeof value);
}

/* netlinkOpen(nsFd, protocol): a netlink socket bound inside nsFd's namespace for its whole life. */
static napi_value NetlinkOpen(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int ns_fd, protocol;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "nsFd", &ns_fd) ||
      !arg_int(env, args[1], "protocol", &protocol)) {
    return NULL;
  }

  const char *failed = NULL;
  int saved = -1;
  if (ns_fd >= 0 && (saved = ns_enter(ns_fd, &failed)) < 0) return throw_errno(env, errno, failed);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (saved >= 0) ns_leave(saved);
  if (fd < 0) return throw_errno(env, errno, "socket");

  /* Extended ACKs carry the kernel's error text; capped ACKs do not echo our whole request back.
   * Kernels without them answer ENOPROTOOPT, which is fine. */
  if ((setsockopt_int(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1) != 0 && errno != ENOPROTOOPT) ||
      (setsockopt_int(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1) != 0 && errno != ENOPROTOOPT)) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt");
  }
  /* Room for large dumps; best effort. The FORCE variants (root) pass net.core.[rw]mem_max. */
  if (setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER_BYTES) != 0) {
    (void)setsockopt_int(fd, SOL_SOCKET, SO_RCVBUF, SOCKET_BUFFER_BYTES);
  }
  if (setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER_BYTES) != 0) {
    (void)setsockopt_int(fd, SOL_SOCKET, SO_SNDBUF, SOCKET_BUFFER_BYTES);
  }

  /* nl_pid 0: the kernel picks a unique port id (read it back with netlinkPortId). */
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind");
  }

  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/* One datagram to the kernel; -1 with errno set on failure. */
static int send_datagram(int fd, const void *data, size_t length) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK}; /* nl_pid 0 is the kernel */
  ssize_t sent;
  do {
    sent = sendto(fd, data, length, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  return sent < 0 ? -1 : 0;
}

static int64_t monotonic_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * Waits until a datagram from the kernel is queued and returns its full size; 0 once timeout_ms
 * passes without one (negative: wait forever); -1 with errno and *failed set on failure. The size
 * is peeked so that a large dump part is never cut. Datagrams from other processes (any process
 * may send to our port id) are dropped unread. A kernel datagram is never empty, so 0 is free.
 */
static ssize_t next_datagram(int fd, int timeout_ms, const char **failed) {
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      int64_t left = deadline - monotonic_ms();
      wait_ms = left > 0 ? (int)left : 0;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue; /* the loop recomputes the time left */
      *failed = "poll";
      return -1;
    }
    if (ready == 0) return 0;
    if (pfd.revents & POLLNVAL) {
      errno = EBADF;
      *failed = "poll";
      return -1;
    }

    /* MSG_TRUNC makes netlink report the datagram's full length; MSG_DONTWAIT because the socket is
     * blocking and poll's answer may be stale (EAGAIN: poll again). ENOBUFS (overrun) surfaces here. */
    struct sockaddr_nl from = {0};
    socklen_t from_length = sizeof from;
    ssize_t size = recvfrom(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT,
                            (struct sockaddr *)&from, &from_length);
    if (size < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *failed = "recvfrom";
      return -1;
    }
    if (from.nl_pid != 0) {
      (void)recv(fd, NULL, 0, MSG_DONTWAIT); /* a zero-length read discards the whole datagram */
      continue;
    }
    return size;
  }
}

/* Reads the datagram next_datagram() announced into data (size bytes); 0, or an errno for "recv". */
static int recv_datagram(int fd, void *data, size_t size) {
  ssize_t got;
  do {
    got = recv(fd, data, size, MSG_DONTWAIT | MSG_TRUNC);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return errno;
  return (size_t)got == size ? 0 : EIO; /* only if another thread read the socket */
}

/* netlinkSend(fd, data): one datagram to the kernel. */
static napi_value NetlinkSend(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd;
  void *data;
  size_t length;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd) ||
      !arg_bytes(env, args[1], "data", &data, &length)) {
    return NULL;
  }
  if (send_datagram(fd, data, length) != 0) return throw_errno(env, errno, "sendto");
  return NULL;
}

/* netlinkRecv(fd, timeoutMs): the next datagram from the kernel, or null after timeoutMs. */
static napi_value NetlinkRecv(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd, timeout_ms;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd) ||
      !arg_int(env, args[1], "timeoutMs", &timeout_ms)) {
    return NULL;
  }
  const char *failed = NULL;
  ssize_t size = next_datagram(fd, timeout_ms, &failed);
  if (size < 0) return throw_errno(env, errno, failed);
  napi_value result;
  if (size == 0) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  void *data;
  CHECK(napi_create_buffer(env, (size_t)size, &data, &result));
  int err = recv_datagram(fd, data, (size_t)size);
  if (err != 0) return throw_errno(env, err, "recv");
  return result;
}

/* netlinkPortId(fd): the port id the kernel gave the socket; replies carry it in nlmsg_pid. */
static napi_value NetlinkPortId(napi_env env, napi_callback_info info) {
  napi_value args[1];
  int fd;
  if (!get_args(env, info, 1, args) || !arg_int(env, args[0], "fd", &fd)) return NULL;
  struct sockaddr_nl local = {0};
  socklen_t length = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &length) != 0) {
    return throw_errno(env, errno, "getsockname");
  }
  napi_value result;
  CHECK(napi_create_uint32(env, local.nl_pid, &result));
  return result;
}

/*
 * netlinkNetns(fd): a descriptor (close-on-exec) of the network namespace the socket lives in, so
 * that another socket can be opened there without keeping the namespace's own descriptor open.
 */
static napi_value NetlinkNetns(napi_env env, napi_callback_info info) {
  napi_value args[1];
  int fd;
  if (!get_args(env, info, 1, args) || !arg_int(env, args[0], "fd", &fd)) return NULL;
  int ns_fd = ioctl(fd, SIOCGSKNS);
  if (ns_fd < 0) return throw_errno(env, errno, "ioctl");
  napi_value result;
  CHECK(napi_create_int32(env, ns_fd, &result));
  return result;
}

/* close(fd). On Linux the descriptor is gone even when close reports EINTR, so never retry. */
static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value args[1];
  int fd;
  if (!get_args(env, info, 1, args) || !arg_int(env, args[0], "fd", &fd)) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

/*
 * flock(fd, exclusive, wait): take an advisory lock on an open file. With wait false it returns
 * false instead of blocking when another process holds the lock, so the caller can wait without
 * stalling the event loop. Released by closing the descriptor.
 */
static napi_value Flock(napi_env env, napi_callback_info info) {
  napi_value args[3];
  int fd;
  bool exclusive, wait;
  if (!get_args(env, info, 3, args) || !arg_int(env, args[0], "fd", &fd)) return NULL;
  if (napi_get_value_bool(env, args[1], &exclusive) != napi_ok) {
    throw_type(env, "exclusive", "must be a boolean");
    return NULL;
  }
  if (napi_get_value_bool(env, args[2], &wait) != napi_ok) {
    throw_type(env, "wait", "must be a boolean");
    return NULL;
  }
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int rc;
  do {
    rc = flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EWOULDBLOCK) return throw_errno(env, errno, "flock");
  napi_value result;
  CHECK(napi_get_boolean(env, rc == 0, &result));
  return result;
}

/* ---------------------------------------------------------------------------------------------- */
/* Netlink I/O on libuv's pool                                                                    */

/*
 * netlinkSendAsync and netlinkRecvAsync do what netlinkSend and netlinkRecv do, on a pool thread,
 * so that a request the kernel takes long over (rtnetlink runs it inside sendmsg(): ~20-30 ms to
 * delete a veth) leaves the event loop free. Nothing here calls setns: the socket's namespace was
 * fixed when it was opened, and the pool thread never leaves the process's own namespace.
 */
struct io_work {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref request_ref; /* send: keeps the request's bytes alive while a pool thread sends them */
  const void *request;
  size_t length; /* send: of the request; recv: of the reply */
  void *reply;   /* recv: the datagram, malloc'd; NULL after a timeout */
  int fd, timeout_ms;
  int err; /* errno of the failed call named by failed; 0 when it worked */
  const char *failed;
};

static void send_execute(napi_env env, void *data) {
  (void)env; /* no Node-API on pool threads */
  struct io_work *w = data;
  if (send_datagram(w->fd, w->request, w->length) != 0) {
    w->err = errno;
    w->failed = "sendto";
  }
}

static void recv_execute(napi_env env, void *data) {
  (void)env;
  struct io_work *w = data;
  ssize_t size = next_datagram(w->fd, w->timeout_ms, &w->failed);
  if (size <= 0) {
    w->err = size < 0 ? errno : 0;
    return;
  }
  if ((w->reply = malloc((size_t)size)) == NULL) {
    w->err = ENOMEM;
    w->failed = "malloc";
    return;
  }
  w->length = (size_t)size;
  if ((w->err = recv_datagram(w->fd, w->reply, w->length)) != 0) w->failed = "recv";
}

static void io_free(napi_env env, struct io_work *w) {
  if (w->request_ref != NULL) napi_delete_reference(env, w->request_ref);
  if (w->work != NULL) napi_delete_async_work(env, w->work);
  free(w->reply);
  free(w);
}

/* On the main thread: settle the promise (send: undefined; recv: a Buffer, or null on timeout). */
static void io_complete(napi_env env, napi_status status, void *data) {
  struct io_work *w = data;
  if (status != napi_ok) { /* only if the work was cancelled before it ran */
    w->err = ECANCELED;
    w->failed = "uv_queue_work";
  }
  napi_value value = NULL;
  if (w->err != 0) {
    value = errno_error(env, w->err, w->failed);
  } else if (w->reply != NULL) {
    if (napi_create_buffer_copy(env, w->length, w->reply, NULL, &value) != napi_ok) value = NULL;
  } else if ((w->request_ref != NULL ? napi_get_undefined(env, &value)
                                      : napi_get_null(env, &value)) != napi_ok) {
    value = NULL;
  }
  if (value == NULL) { /* a Node-API call failed: reject with its exception */
    napi_failed(env);
    napi_get_and_clear_last_exception(env, &value);
    napi_reject_deferred(env, w->deferred, value);
  } else if (w->err != 0) {
    napi_reject_deferred(env, w->deferred, value);
  } else {
    napi_resolve_deferred(env, w->deferred, value);
  }
  io_free(env, w);
}

/* Queues w on libuv's pool and returns the promise io_complete() settles. */
static napi_value io_start(napi_env env, struct io_work *w, napi_async_execute_callback execute) {
  napi_value name, promise;
  if (napi_create_string_utf8(env, "ctnet:netlink", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, io_complete, w, &w->work) != napi_ok ||
      napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    napi_failed(env); /* first: it reads the failed call's error */
    io_free(env, w);
    return NULL;
  }
  return promise;
}

/*
 * netlinkSendAsync(fd, data): netlinkSend on a pool thread; a promise of undefined. The caller must
 * not touch the socket until it settles.
 */
static napi_value NetlinkSendAsync(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd;
  void *data;
  size_t length;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd) ||
      !arg_bytes(env, args[1], "data", &data, &length)) {
    return NULL;
  }
  struct io_work *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "calloc");
  w->fd = fd;
  w->request = data;
  w->length = length;
  if (napi_create_reference(env, args[1], 1, &w->request_ref) != napi_ok) {
    free(w);
    return napi_failed(env);
  }
  return io_start(env, w, send_execute);
}

/*
 * netlinkRecvAsync(fd, timeoutMs): netlinkRecv on a pool thread; a promise of the datagram, or of
 * null after timeoutMs. The caller must not touch the socket until it settles.
 */
static napi_value NetlinkRecvAsync(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd, timeout_ms;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd) ||
      !arg_int(env, args[1], "timeoutMs", &timeout_ms)) {
    return NULL;
  }
  struct io_work *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "calloc");
  w->fd = fd;
  w->timeout_ms = timeout_ms;
  return io_start(env, w, recv_execute);
}

/* ---------------------------------------------------------------------------------------------- */
/* Netlink events                                                                                 */

/*
 * A monitor joins multicast groups (netlinkAddMembership), is told by the event loop when its socket
 * has something to read (netlinkWatch: a uv_poll_t on the descriptor, so no pool thread sits in a
 * receive), and takes what is queued without waiting (netlinkDrain). When the receive buffer is full
 * the kernel drops notifications and says so once, with ENOBUFS on the next read; netlinkDrain
 * reports that as `overrun`, after which the consumer must read again the state it follows.
 */

/* netlinkAddMembership(fd, group): join multicast group `group` (RTNLGRP_LINK, NFNLGRP_NFTABLES, ...). */
static napi_value NetlinkAddMembership(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd, group;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd) ||
      !arg_int(env, args[1], "group", &group)) {
    return NULL;
  }
  if (setsockopt_int(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group) != 0) {
    return throw_errno(env, errno, "setsockopt");
  }
  return NULL;
}

/*
 * netlinkDrain(fd, max): the datagrams queued on the socket, at most max, without waiting:
 * { datagrams: Buffer[], overrun: boolean }.
 */
static napi_value NetlinkDrain(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd, max;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd) ||
      !arg_int(env, args[1], "max", &max)) {
    return NULL;
  }
  if (max < 1) {
    throw_type(env, "max", "must be at least 1");
    return NULL;
  }
  napi_value result, datagrams, overrun_value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_array(env, &datagrams));
  bool overrun = false;
  uint32_t count = 0;
  while (count < (uint32_t)max) {
    const char *failed = NULL;
    ssize_t size = next_datagram(fd, 0, &failed);
    if (size < 0 && errno == ENOBUFS) { /* reported once; what is queued after it is still there */
      overrun = true;
      continue;
    }
    if (size < 0) return throw_errno(env, errno, failed);
    if (size == 0) break;
    void *data;
    napi_value buffer;
    CHECK(napi_create_buffer(env, (size_t)size, &data, &buffer));
    int err = recv_datagram(fd, data, (size_t)size);
    if (err != 0) return throw_errno(env, err, "recv");
    CHECK(napi_set_element(env, datagrams, count++, buffer));
  }
  CHECK(napi_get_boolean(env, overrun, &overrun_value));
  CHECK(napi_set_named_property(env, result, "datagrams", datagrams));
  CHECK(napi_set_named_property(env, result, "overrun", overrun_value));
  return result;
}

/*
 * One watched socket. The JS handle (an external) owns the struct: its finalizer frees it. While the
 * poll handle is open, `self` keeps the JS handle (and so the struct) alive, whatever JS drops.
 */
struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref self;
  napi_ref callback;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup;
  bool stopping;
};

/* Tells our handles from other externals. */
static const napi_type_tag WATCH_TAG = {0x6374c0de5e7a11edULL, 0x8a1f0b3c9d2e4f57ULL};

static void watch_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/*
 * Lets go of what a watch holds in the environment. These calls fail only for arguments that are
 * not what they were created as, and there is nobody to report to (no JS on the stack).
 */
static void watch_release(struct watch *w) {
  if (w->cleanup != NULL) (void)napi_remove_async_cleanup_hook(w->cleanup);
  if (w->context != NULL) (void)napi_async_destroy(w->env, w->context);
  if (w->callback != NULL) (void)napi_delete_reference(w->env, w->callback);
  if (w->self != NULL) (void)napi_delete_reference(w->env, w->self); /* last: w may go at the next GC */
}

static void watch_closed(uv_handle_t *handle) {
  watch_release(handle->data);
}

static void watch_stop(struct watch *w) {
  if (w->stopping) return;
  w->stopping = true;
  (void)uv_poll_stop(&w->poll); /* always 0 for an initialised handle */
  uv_close((uv_handle_t *)&w->poll, watch_closed);
}

/* The environment ends while the watch runs (a worker exits): close it; watch_closed removes the hook. */
static void watch_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  watch_stop(arg);
}

static void watch_readable(uv_poll_t *poll, int status, int events);

/*
 * libuv reports POLLERR as UV_EBADF and stops the poll. On a netlink socket POLLERR means a pending
 * socket error (ENOBUFS: notifications were dropped) that the next read returns, so while the
 * descriptor is open it is news to read like any other: polling goes on. Returns 0, or the error.
 */
static int watch_resume(struct watch *w) {
  uv_os_fd_t fd;
  int err = uv_fileno((uv_handle_t *)&w->poll, &fd);
  if (err != 0) return err;
  if (fcntl(fd, F_GETFD) < 0) return UV_EBADF; /* really closed */
  return uv_poll_start(&w->poll, UV_READABLE, watch_readable);
}

/* On the event loop: the socket is readable, or polling it failed (status < 0). */
static void watch_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  struct watch *w = poll->data;
  if (status == UV_EBADF) status = watch_resume(w);
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    napi_fatal_error("ctnet_native", NAPI_AUTO_LENGTH, "cannot open a handle scope", NAPI_AUTO_LENGTH);
  }
  napi_value callback, global, arg = NULL, result;
  if (napi_get_reference_value(env, w->callback, &callback) != napi_ok ||
      napi_get_global(env, &global) != napi_ok ||
      (status < 0 ? (arg = errno_error(env, -status, "uv_poll")) == NULL
                  : napi_get_null(env, &arg) != napi_ok)) {
    napi_failed(env);
  } else {
    /* Runs the callback as any event-loop callback runs: microtasks and nextTicks afterwards. */
    (void)napi_make_callback(env, w->context, global, callback, 1, &arg, &result);
  }
  /* What the callback threw (or a failed call above) is an uncaught exception, as for any callback. */
  bool pending = false;
  napi_value exception;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
    (void)napi_fatal_exception(env, exception);
  }
  (void)napi_close_handle_scope(env, scope);
}

/*
 * netlinkWatch(fd, callback): call callback(null) from the event loop whenever fd is readable (level
 * triggered: again while something is queued), or callback(error) when polling fails. Returns the
 * handle netlinkUnwatch takes. Unwatch before closing fd.
 */
static napi_value NetlinkWatch(napi_env env, napi_callback_info info) {
  napi_value args[2], handle, name;
  napi_valuetype type;
  int fd;
  uv_loop_t *loop;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "fd", &fd)) return NULL;
  CHECK(napi_typeof(env, args[1], &type));
  if (type != napi_function) {
    throw_type(env, "callback", "must be a function");
    return NULL;
  }
  CHECK(napi_get_uv_event_loop(env, &loop));
  struct watch *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "calloc");
  w->env = env;
  w->poll.data = w;
  if (napi_create_external(env, w, watch_finalize, NULL, &handle) != napi_ok) {
    free(w);
    return napi_failed(env);
  }
  /* From here the finalizer frees w. */
  if (napi_type_tag_object(env, handle, &WATCH_TAG) != napi_ok ||
      napi_create_reference(env, handle, 1, &w->self) != napi_ok ||
      napi_create_reference(env, args[1], 1, &w->callback) != napi_ok ||
      napi_create_string_utf8(env, "ctnet:netlink-watch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok ||
      napi_add_async_cleanup_hook(env, watch_cleanup, w, &w->cleanup) != napi_ok) {
    napi_failed(env); /* first: it reads the failed call's error */
    watch_release(w);
    return NULL;
  }
  int err = uv_poll_init(loop, &w->poll, fd);
  if (err != 0) {
    watch_release(w);
    return throw_errno(env, -err, "uv_poll_init");
  }
  /* From here the poll handle is in the loop: only uv_close (watch_stop) may take it out. */
  err = uv_poll_start(&w->poll, UV_READABLE, watch_readable);
  if (err != 0) {
    watch_stop(w);
    return throw_errno(env, -err, "uv_poll_start");
  }
  return handle;
}

/* netlinkUnwatch(handle): stop calling the callback. Idempotent. */
static napi_value NetlinkUnwatch(napi_env env, napi_callback_info info) {
  napi_value args[1];
  napi_valuetype type;
  bool ours = false;
  void *data;
  if (!get_args(env, info, 1, args)) return NULL;
  CHECK(napi_typeof(env, args[0], &type));
  if (type == napi_external) CHECK(napi_check_object_type_tag(env, args[0], &WATCH_TAG, &ours));
  if (!ours) {
    throw_type(env, "watch", "must be a handle from netlinkWatch");
    return NULL;
  }
  CHECK(napi_get_value_external(env, args[0], &data));
  watch_stop(data);
  return NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* Named network namespaces                                                                       */

/*
 * netnsCreate(path): a persistent network namespace, made exactly as `ip netns add` does: a shared
 * mount point as the directory (so the bind mounts propagate to other mount namespaces), an empty
 * file, and a fresh namespace bind-mounted onto it. EEXIST if the file exists (nothing changed).
 */
static napi_value NetnsCreate(napi_env env, napi_callback_info info) {
  napi_value args[1];
  char path[PATH_MAX], dir[PATH_MAX];
  if (!get_args(env, info, 1, args) || !arg_string(env, args[0], "path", path, sizeof path)) {
    return NULL;
  }
  char *slash = strrchr(path, '/');
  if (path[0] != '/' || slash[1] == '\0') {
    throw_type(env, "path", "must be an absolute path to a file");
    return NULL;
  }
  size_t dir_length = slash == path ? 1 : (size_t)(slash - path);
  memcpy(dir, path, dir_length);
  dir[dir_length] = '\0';

  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return throw_errno(env, errno, "mkdir");
  /* EINVAL: dir is not a mount point yet; bind-mount it onto itself to make it one, then retry. */
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) {
    if (errno != EINVAL || mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0 ||
        mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) {
      return throw_errno(env, errno, "mount");
    }
  }

  int file = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (file < 0) return throw_errno(env, errno, "open");
  close(file);

  int saved = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    int err = errno;
    unlink(path);
    return throw_errno(env, err, "open");
  }
  const char *failed = NULL;
  int err = 0;
  if (unshare(CLONE_NEWNET) != 0) {
    failed = "unshare";
    err = errno;
    close(saved); /* unshare failed: the thread never moved */
  } else {
    /* The new namespace lives on as long as this bind mount does. */
    if (mount(SELF_NETNS, path, "none", MS_BIND, NULL) != 0) {
      failed = "mount";
      err = errno;
    }
    ns_leave(saved);
  }
  if (failed != NULL) {
    unlink(path);
    return throw_errno(env, err, failed);
  }
  return NULL;
}

/*
 * netnsDelete(path): detach the bind mount (the namespace dies with its last user) and remove the
 * file. A file that is not a mount point (EINVAL, e.g. left by a crash) is still removed.
 */
static napi_value NetnsDelete(napi_env env, napi_callback_info info) {
  napi_value args[1];
  char path[PATH_MAX];
  if (!get_args(env, info, 1, args) || !arg_string(env, args[0], "path", path, sizeof path)) {
    return NULL;
  }
  if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL) return throw_errno(env, errno, "umount2");
  if (unlink(path) != 0) return throw_errno(env, errno, "unlink");
  return NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* Sysctls                                                                                        */

/*
 * /proc/sys/net files belong to the namespace of the thread that opens them, so only open() runs
 * switched; read/write happen after switching back.
 */

/* sysctlWrite(nsFd, key, value) */
static napi_value SysctlWrite(napi_env env, napi_callback_info info) {
  napi_value args[3];
  int ns_fd;
  char path[PATH_MAX], value[SYSCTL_MAX_BYTES];
  if (!get_args(env, info, 3, args) || !arg_int(env, args[0], "nsFd", &ns_fd) ||
      !arg_sysctl_path(env, args[1], path, sizeof path) ||
      !arg_string(env, args[2], "value", value, sizeof value)) {
    return NULL;
  }
  const char *failed = NULL;
  int fd = open_in_netns(ns_fd, path, O_WRONLY, &failed);
  if (fd < 0) return throw_errno(env, errno, failed);
  /* One write() call: the kernel parses a sysctl value per write. */
  size_t length = strlen(value);
  ssize_t written;
  do {
    written = write(fd, value, length);
  } while (written < 0 && errno == EINTR);
  int err = written < 0 ? errno : (size_t)written != length ? EIO : 0;
  close(fd);
  if (err != 0) return throw_errno(env, err, "write");
  return NULL;
}

/* sysctlRead(nsFd, key): the value without surrounding whitespace. */
static napi_value SysctlRead(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int ns_fd;
  char path[PATH_MAX], value[SYSCTL_MAX_BYTES];
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "nsFd", &ns_fd) ||
      !arg_sysctl_path(env, args[1], path, sizeof path)) {
    return NULL;
  }
  const char *failed = NULL;
  int fd = open_in_netns(ns_fd, path, O_RDONLY, &failed);
  if (fd < 0) return throw_errno(env, errno, failed);
  size_t length = 0;
  while (length < sizeof value) {
    ssize_t got = read(fd, value + length, sizeof value - length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, err, "read");
    }
    if (got == 0) break;
    length += (size_t)got;
  }
  close(fd);

  size_t start = 0;
  while (start < length && strchr(" \t\r\n", value[start]) != NULL) start++;
  while (length > start && strchr(" \t\r\n", value[length - 1]) != NULL) length--;
  napi_value result;
  CHECK(napi_create_string_utf8(env, value + start, length - start, &result));
  return result;
}

/* ---------------------------------------------------------------------------------------------- */
/* exec inside a namespace                                                                        */

/*
 * What Node changed in the process that a command started from a shell would not expect: ignored
 * signals (SIGPIPE, SIGXFSZ) and blocked ones survive execve; Node marks stdio close-on-exec (the
 * command would start without stdin/stdout/stderr) and libuv may have made it non-blocking. This is
 * what libuv undoes in the children it spawns. Saved so that a failed execvp can put it all back.
 */
struct exec_state {
  sigset_t mask;
  uint64_t ignored; /* bit n: signal n was SIG_IGN and is now SIG_DFL */
  int fd_flags[3];     /* F_GETFD of stdio, -1 if closed */
  int status_flags[3]; /* F_GETFL of stdio, -1 if closed */
};

static void exec_prepare(struct exec_state *state) {
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, &state->mask);
  state->ignored = 0;
  for (int sig = 1; sig < NSIG && sig < 64; sig++) {
    struct sigaction current;
    if (sigaction(sig, NULL, &current) != 0 || current.sa_handler != SIG_IGN) continue;
    struct sigaction reset = {.sa_handler = SIG_DFL};
    if (sigaction(sig, &reset, NULL) == 0) state->ignored |= UINT64_C(1) << sig;
  }
  for (int fd = 0; fd < 3; fd++) {
    state->fd_flags[fd] = fcntl(fd, F_GETFD);
    if (state->fd_flags[fd] > 0) fcntl(fd, F_SETFD, state->fd_flags[fd] & ~FD_CLOEXEC);
    state->status_flags[fd] = fcntl(fd, F_GETFL);
    if (state->status_flags[fd] > 0) fcntl(fd, F_SETFL, state->status_flags[fd] & ~O_NONBLOCK);
  }
}

static void exec_undo(const struct exec_state *state) {
  for (int fd = 0; fd < 3; fd++) {
    if (state->status_flags[fd] >= 0) fcntl(fd, F_SETFL, state->status_flags[fd]);
    if (state->fd_flags[fd] >= 0) fcntl(fd, F_SETFD, state->fd_flags[fd]);
  }
  for (int sig = 1; sig < NSIG && sig < 64; sig++) {
    if (!(state->ignored & (UINT64_C(1) << sig))) continue;
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigaction(sig, &ignore, NULL);
  }
  pthread_sigmask(SIG_SETMASK, &state->mask, NULL);
}

static void free_argv(char **argv) {
  if (argv == NULL) return;
  for (char **arg = argv; *arg != NULL; arg++) free(*arg);
  free(argv);
}

/* A non-empty JS array of strings as a NULL-terminated C argv (free with free_argv), or NULL. */
static char **arg_argv(napi_env env, napi_value value) {
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, value, &is_array) != napi_ok ||
      (is_array && napi_get_array_length(env, value, &count) != napi_ok)) {
    failed_bool(env);
    return NULL;
  }
  if (count == 0) {
    throw_type(env, "argv", "must be a non-empty array of strings");
    return NULL;
  }
  char **argv = calloc(count + 1, sizeof *argv);
  if (argv == NULL) {
    throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  uint32_t i = 0;
  for (; i < count; i++) {
    napi_value item;
    napi_valuetype type;
    size_t length;
    if (napi_get_element(env, value, i, &item) != napi_ok ||
        napi_typeof(env, item, &type) != napi_ok) {
      failed_bool(env);
      break;
    }
    if (type != napi_string) {
      throw_type(env, "argv", "must be a non-empty array of strings");
      break;
    }
    if (napi_get_value_string_utf8(env, item, NULL, 0, &length) != napi_ok) {
      failed_bool(env);
      break;
    }
    if ((argv[i] = malloc(length + 1)) == NULL) {
      throw_errno(env, ENOMEM, "malloc");
      break;
    }
    if (napi_get_value_string_utf8(env, item, argv[i], length + 1, &length) != napi_ok) {
      failed_bool(env);
      break;
    }
    if (strlen(argv[i]) != length) {
      throw_type(env, "argv", "must not contain NUL characters");
      break;
    }
  }
  if (i == count) return argv;
  free_argv(argv); /* an exception is pending */
  return NULL;
}

/*
 * execInNetns(nsFd, argv): replace this process with argv[0], searched in PATH, running in nsFd's
 * namespace. Switching only the calling thread is safe here because execve keeps only that thread:
 * no other Node thread ever runs in the switched namespace. Returns (throws) only on failure, after
 * switching back and undoing every change.
 */
static napi_value ExecInNetns(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int ns_fd;
  if (!get_args(env, info, 2, args) || !arg_int(env, args[0], "nsFd", &ns_fd)) return NULL;
  char **argv = arg_argv(env, args[1]);
  if (argv == NULL) return NULL;

  const char *failed = NULL;
  int saved = ns_enter(ns_fd, &failed); /* O_CLOEXEC: the command does not inherit it */
  if (saved < 0) {
    int err = errno;
    free_argv(argv);
    return throw_errno(env, err, failed);
  }
  struct exec_state state;
  exec_prepare(&state);
  execvp(argv[0], argv);
  int err = errno;
  exec_undo(&state);
  ns_leave(saved);
  free_argv(argv);
  return throw_errno(env, err, "execvp");
}

/* ---------------------------------------------------------------------------------------------- */

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor functions[] = {
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
      FN("netlinkOpen", NetlinkOpen),   FN("netlinkSend", NetlinkSend),
      FN("netlinkRecv", NetlinkRecv),   FN("netlinkPortId", NetlinkPortId),
      FN("close", Close),               FN("netnsCreate", NetnsCreate),
      FN("netnsDelete", NetnsDelete),   FN("sysctlWrite", SysctlWrite),
      FN("sysctlRead", SysctlRead),     FN("execInNetns", ExecInNetns),
      FN("flock", Flock),               FN("netlinkSendAsync", NetlinkSendAsync),
      FN("netlinkRecvAsync", NetlinkRecvAsync), FN("netlinkNetns", NetlinkNetns),
      FN("netlinkAddMembership", NetlinkAddMembership), FN("netlinkDrain", NetlinkDrain),
      FN("netlinkWatch", NetlinkWatch), FN("netlinkUnwatch", NetlinkUnwatch),
#undef FN
  };
  CHECK(napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}
