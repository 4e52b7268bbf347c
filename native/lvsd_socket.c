/*
 * lvsd_socket: the one native piece of lvsd. A generic datagram socket for Node-API:
 * open / bind / setsockopt / getsockopt / getsockname / sendto / close, and a reader driven by
 * uv_poll on node's own event loop that delivers payload, source address, ancillary data and
 * MSG_TRUNC. Everything protocol-shaped (netlink, VRRP, ARP) lives in TypeScript.
 *
 * Node-API version 8 (one binary serves Node 18, 20, 22, 24), plain C, no libstdc++.
 *
 * Ownership of one socket (struct lsock): shared by the JS wrapper (its finalizer) and the uv_poll
 * handle (its close callback). It is freed when both have let go. close() stops the poll, closes
 * the fd at once and starts uv_close; an async cleanup hook does the same when the environment
 * (main thread or a worker) shuts down, so no handle keeps a dying loop alive.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The version of this addon's JS interface. lvsd refuses an addon whose exported abiVersion is not
 * the one it was built for (src/daemon/native/abi.ts ADDON_ABI_VERSION: bump both together;
 * test/unit/daemon/native-abi.test.ts checks they are equal). */
#define LVSD_ABI_VERSION 2

/* The same number as an ELF note (owner "lvsd", type 1, a 4-byte word in the target's byte order),
 * so the controller reads it from the file without loading it (a director's addon may be built for
 * another machine): src/plan/ops/lvsd-bundle.ts addonAbiVersion; `readelf -n lvsd_socket.node`.
 * An allocated note survives strip. Layout: the System V gABI's note entry (namesz, descsz, type,
 * name padded to 4, desc). */
#define LVSD_NOTE_ABI 1
static const struct {
  uint32_t namesz, descsz, type;
  char name[8];
  uint32_t desc;
} lvsd_abi_note __attribute__((used, section(".note.lvsd.abi"), aligned(4))) = {5, 4, LVSD_NOTE_ABI, "lvsd", LVSD_ABI_VERSION};

#define RECV_BUF_SIZE 65536 /* max IPv4 datagram; netlink dump parts are at most 32 KiB */
#define CTRL_BUF_SIZE 256
#define MAX_READS_PER_WAKE 512 /* fairness cap; uv_poll is level-triggered, the rest comes next tick */

typedef struct lsock {
  int fd;
  int domain;
  napi_env env;
  uv_poll_t poll;
  int poll_init;    /* uv_poll_init done and uv_close not yet completed */
  int poll_closing; /* uv_close called, waiting for on_poll_closed */
  int polling;      /* uv_poll_start active */
  int wrapper_alive;
  int in_teardown;  /* closed by the async cleanup hook: remove the hook once the handle is closed */
  napi_ref cb;
  napi_ref self;    /* strong while reading, so a reading socket is not collected */
  napi_async_context actx;
  int in_callback;  /* inside napi_make_callback: actx must outlive it */
  napi_async_cleanup_hook_handle hook;
  unsigned char *buf;
} lsock;

/* ---- errors ------------------------------------------------------------------------------ */

static const char *errno_name(int e) {
  switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(EBADF) E(EAGAIN) E(ENOMEM)
    E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(ENODEV) E(ENOTDIR) E(EINVAL) E(ENFILE) E(EMFILE)
    E(ENOSPC) E(ERANGE) E(ENOSYS) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE)
    E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EPFNOSUPPORT)
    E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ENETRESET)
    E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT)
    E(ECONNREFUSED) E(EHOSTDOWN) E(EHOSTUNREACH) E(EALREADY) E(EINPROGRESS)
#undef E
    default: return NULL;
  }
}

/* Throws Error("<syscall>: <strerror>") with .code = errno name and .errno = number. */
static void throw_errno(napi_env env, const char *syscall, int e) {
  char msg[160];
  char codebuf[16];
  const char *code = errno_name(e);
  if (code == NULL) {
    snprintf(codebuf, sizeof codebuf, "E%d", e);
    code = codebuf;
  }
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(e));
  napi_value vmsg, vcode, err, vno, vsys;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &vmsg) != napi_ok) return;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &vcode);
  napi_create_error(env, vcode, vmsg, &err);
  napi_create_int32(env, e, &vno);
  napi_set_named_property(env, err, "errno", vno);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &vsys);
  napi_set_named_property(env, err, "syscall", vsys);
  napi_throw(env, err);
}

static napi_value make_errno_error(napi_env env, const char *syscall, int e) {
  char msg[160];
  char codebuf[16];
  const char *code = errno_name(e);
  if (code == NULL) {
    snprintf(codebuf, sizeof codebuf, "E%d", e);
    code = codebuf;
  }
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(e));
  napi_value vmsg, vcode, err, vno;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &vmsg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &vcode);
  napi_create_error(env, vcode, vmsg, &err);
  napi_create_int32(env, e, &vno);
  napi_set_named_property(env, err, "errno", vno);
  return err;
}

#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      bool pending_ = false;                                                  \
      napi_is_exception_pending(env, &pending_);                              \
      if (!pending_) napi_throw_error(env, "EINVAL", "lvsd_socket: " #call);  \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

#define THROW(msg)                                  \
  do {                                              \
    napi_throw_type_error(env, "EINVAL", (msg));    \
    return NULL;                                    \
  } while (0)

/* ---- argument helpers -------------------------------------------------------------------- */

static int get_u32_prop(napi_env env, napi_value obj, const char *name, uint32_t *out, int required) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok) return -1;
  if (!has) return required ? -1 : 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return -1;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined) return required ? -1 : 0;
  if (t != napi_number) return -1;
  if (napi_get_value_uint32(env, v, out) != napi_ok) return -1;
  return 1;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t got = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return -1;
  if (napi_get_value_string_utf8(env, v, buf, len, &got) != napi_ok) return -1;
  if (got >= len - 1) return -1; /* possibly truncated */
  return 0;
}

static int get_string_prop(napi_env env, napi_value obj, const char *name, char *buf, size_t len) {
  bool has = false;
  napi_value v;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return -1;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return 0;
  return get_string(env, v, buf, len) == 0 ? 1 : -1;
}

static lsock *unwrap(napi_env env, napi_value v) {
  lsock *s = NULL;
  if (napi_unwrap(env, v, (void **)&s) != napi_ok || s == NULL) {
    napi_throw_type_error(env, "EINVAL", "lvsd_socket: not a socket handle");
    return NULL;
  }
  if (s->fd < 0) {
    throw_errno(env, "lvsd_socket (closed)", EBADF);
    return NULL;
  }
  return s;
}

/* Runs fn in the network namespace at netns_path (for the calling thread only), then returns. */
static int with_netns(const char *netns_path, int (*fn)(void *), void *arg, int *err) {
  if (netns_path == NULL || netns_path[0] == 0) return fn(arg);
  int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) { *err = errno; return -1; }
  int target = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (target < 0) { *err = errno; close(orig); return -1; }
  if (setns(target, CLONE_NEWNET) < 0) {
    *err = errno;
    close(target);
    close(orig);
    return -1;
  }
  int r = fn(arg);
  int saved = errno;
  if (setns(orig, CLONE_NEWNET) < 0) {
    /* The thread would stay in the wrong namespace: nothing sane can follow. */
    fprintf(stderr, "lvsd_socket: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(target);
  close(orig);
  errno = saved;
  return r;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

/* Destroys the async context unless a callback is running on it (then deliver() does it after). */
static void drop_actx(lsock *s) {
  if (s->actx && !s->in_callback) {
    napi_async_destroy(s->env, s->actx);
    s->actx = NULL;
  }
}

static void maybe_free(lsock *s) {
  if (!s->wrapper_alive && !s->poll_init) {
    free(s->buf);
    free(s);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  lsock *s = (lsock *)h->data;
  s->poll_init = 0;
  s->poll_closing = 0;
  if (s->in_teardown && s->hook != NULL) {
    napi_async_cleanup_hook_handle hk = s->hook;
    s->hook = NULL;
    napi_remove_async_cleanup_hook(hk);
  }
  maybe_free(s);
}

/* Stops reading, closes the fd, starts closing the poll handle. Safe to call twice. */
static void shutdown_sock(lsock *s, int from_hook) {
  napi_env env = s->env;
  if (s->polling) {
    uv_poll_stop(&s->poll);
    s->polling = 0;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (s->cb) { napi_delete_reference(env, s->cb); s->cb = NULL; }
  if (s->self) { napi_delete_reference(env, s->self); s->self = NULL; }
  drop_actx(s);
  if (from_hook) s->in_teardown = 1;
  if (s->hook != NULL && !s->in_teardown) {
    napi_async_cleanup_hook_handle hk = s->hook;
    s->hook = NULL;
    napi_remove_async_cleanup_hook(hk);
  }
  if (s->poll_init && !s->poll_closing) {
    s->poll_closing = 1;
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  } else if (s->in_teardown && s->hook != NULL && !s->poll_init) {
    napi_async_cleanup_hook_handle hk = s->hook;
    s->hook = NULL;
    napi_remove_async_cleanup_hook(hk);
  }
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  shutdown_sock((lsock *)arg, 1);
}

static void finalize_sock(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  lsock *s = (lsock *)data;
  s->wrapper_alive = 0;
  if (s->fd >= 0 || s->poll_init) shutdown_sock(s, 0);
  maybe_free(s);
}

/* ---- open -------------------------------------------------------------------------------- */

struct open_args { int domain, type, protocol; };
static int do_socket(void *p) {
  struct open_args *a = p;
  return socket(a->domain, a->type | SOCK_NONBLOCK | SOCK_CLOEXEC, a->protocol);
}

/* open(domain, type, protocol, netnsPath?) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) THROW("open(domain, type, protocol, netns?)");
  int32_t domain, type, protocol;
  CHECK(napi_get_value_int32(env, argv[0], &domain));
  CHECK(napi_get_value_int32(env, argv[1], &type));
  CHECK(napi_get_value_int32(env, argv[2], &protocol));
  if (domain != AF_INET && domain != AF_PACKET && domain != AF_NETLINK) THROW("open: domain must be AF_INET, AF_PACKET or AF_NETLINK");
  char ns[256] = {0};
  if (argc >= 4) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined && t != napi_null && get_string(env, argv[3], ns, sizeof ns) != 0) THROW("open: netns must be a path string");
  }
  /* AF_PACKET wants the ethertype in network order; callers pass host order, as for bind and
     sendto, so one convention holds across the API. */
  if (domain == AF_PACKET) protocol = htons((uint16_t)protocol);
  struct open_args a = {domain, type, protocol};
  int err = 0;
  int fd = with_netns(ns, do_socket, &a, &err);
  if (fd < 0) {
    throw_errno(env, ns[0] ? "setns/socket" : "socket", err ? err : errno);
    return NULL;
  }
  lsock *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  s->fd = fd;
  s->domain = domain;
  s->env = env;
  s->wrapper_alive = 1;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || napi_wrap(env, obj, s, finalize_sock, NULL, NULL) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, "ENOMEM", "lvsd_socket: cannot wrap socket");
    return NULL;
  }
  return obj;
}

/* fd(handle) -> number (-1 once closed) */
static napi_value js_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  lsock *s = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_unwrap(env, argv[0], (void **)&s) != napi_ok || s == NULL) THROW("fd(handle)");
  CHECK(napi_create_int32(env, s->fd, &out));
  return out;
}

/* ---- addresses ----------------------------------------------------------------------------- */

/* Fills ss from a JS address object for s->domain. Returns the length, or 0 after throwing. */
static socklen_t parse_addr(napi_env env, int domain, napi_value v, struct sockaddr_storage *ss, int for_bind) {
  memset(ss, 0, sizeof *ss);
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (domain == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    char ip[64] = {0};
    uint32_t port = 0;
    sin->sin_family = AF_INET;
    if (t == napi_string) {
      if (get_string(env, v, ip, sizeof ip) != 0) goto bad;
    } else if (t == napi_object) {
      int r = get_string_prop(env, v, "address", ip, sizeof ip);
      if (r < 0 || get_u32_prop(env, v, "port", &port, 0) < 0 || port > 65535) goto bad;
      if (r == 0) strcpy(ip, "0.0.0.0");
    } else goto bad;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) goto bad;
    sin->sin_port = htons((uint16_t)port);
    return sizeof *sin;
  }
  if (t != napi_object) goto bad;
  if (domain == AF_PACKET) {
    struct sockaddr_ll *sll = (struct sockaddr_ll *)ss;
    uint32_t ifindex = 0, protocol = 0;
    sll->sll_family = AF_PACKET;
    if (get_u32_prop(env, v, "ifindex", &ifindex, !for_bind) < 0) goto bad;
    if (get_u32_prop(env, v, "protocol", &protocol, 0) < 0 || protocol > 0xffff) goto bad;
    sll->sll_ifindex = (int)ifindex;
    sll->sll_protocol = htons((uint16_t)protocol);
    bool has = false;
    napi_has_named_property(env, v, "addr", &has);
    if (has) {
      napi_value av;
      bool isbuf = false;
      napi_get_named_property(env, v, "addr", &av);
      napi_is_buffer(env, av, &isbuf);
      if (isbuf) {
        void *data;
        size_t len;
        napi_get_buffer_info(env, av, &data, &len);
        if (len > sizeof sll->sll_addr) goto bad;
        memcpy(sll->sll_addr, data, len);
        sll->sll_halen = (unsigned char)len;
      }
    }
    return sizeof *sll;
  }
  if (domain == AF_NETLINK) {
    struct sockaddr_nl *snl = (struct sockaddr_nl *)ss;
    uint32_t pid = 0, groups = 0;
    snl->nl_family = AF_NETLINK;
    if (get_u32_prop(env, v, "pid", &pid, 0) < 0 || get_u32_prop(env, v, "groups", &groups, 0) < 0) goto bad;
    snl->nl_pid = pid;
    snl->nl_groups = groups;
    return sizeof *snl;
  }
bad:
  napi_throw_type_error(env, "EINVAL", domain == AF_INET ? "address: expected an IPv4 string or {address, port}"
                        : domain == AF_PACKET ? "address: expected {ifindex, protocol, addr?: Buffer}"
                        : "address: expected {pid, groups}");
  return 0;
}

static napi_value addr_to_js(napi_env env, const struct sockaddr_storage *ss, socklen_t len) {
  napi_value o, v;
  if (len == 0) {
    napi_get_null(env, &o);
    return o;
  }
  napi_create_object(env, &o);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
    napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "address", v);
    napi_create_uint32(env, ntohs(sin->sin_port), &v);
    napi_set_named_property(env, o, "port", v);
  } else if (ss->ss_family == AF_PACKET) {
    const struct sockaddr_ll *sll = (const struct sockaddr_ll *)ss;
    napi_create_int32(env, sll->sll_ifindex, &v);
    napi_set_named_property(env, o, "ifindex", v);
    napi_create_uint32(env, ntohs(sll->sll_protocol), &v);
    napi_set_named_property(env, o, "protocol", v);
    napi_create_uint32(env, sll->sll_hatype, &v);
    napi_set_named_property(env, o, "hatype", v);
    napi_create_uint32(env, sll->sll_pkttype, &v);
    napi_set_named_property(env, o, "pkttype", v);
    size_t halen = sll->sll_halen > 8 ? 8 : sll->sll_halen;
    napi_create_buffer_copy(env, halen, sll->sll_addr, NULL, &v);
    napi_set_named_property(env, o, "addr", v);
  } else if (ss->ss_family == AF_NETLINK) {
    const struct sockaddr_nl *snl = (const struct sockaddr_nl *)ss;
    napi_create_uint32(env, snl->nl_pid, &v);
    napi_set_named_property(env, o, "pid", v);
    napi_create_uint32(env, snl->nl_groups, &v);
    napi_set_named_property(env, o, "groups", v);
  }
  return o;
}

/* bind(handle, addr) */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) THROW("bind(handle, address)");
  lsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = parse_addr(env, s->domain, argv[1], &ss, 1);
  if (len == 0) return NULL;
  if (bind(s->fd, (struct sockaddr *)&ss, len) < 0) {
    throw_errno(env, "bind", errno);
    return NULL;
  }
  return NULL;
}

/* getsockname(handle) -> address object */
static napi_value js_getsockname(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) THROW("getsockname(handle)");
  lsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) {
    throw_errno(env, "getsockname", errno);
    return NULL;
  }
  return addr_to_js(env, &ss, len);
}

/* ---- options ----------------------------------------------------------------------------- */

/* setsockopt(handle, level, name, value: number | Buffer); a number is passed as a C int. */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW("setsockopt(handle, level, name, value)");
  lsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  int32_t level, name;
  CHECK(napi_get_value_int32(env, argv[1], &level));
  CHECK(napi_get_value_int32(env, argv[2], &name));
  napi_valuetype t;
  bool isbuf = false;
  napi_typeof(env, argv[3], &t);
  napi_is_buffer(env, argv[3], &isbuf);
  int r;
  if (t == napi_number) {
    int32_t iv;
    CHECK(napi_get_value_int32(env, argv[3], &iv));
    int val = iv;
    r = setsockopt(s->fd, level, name, &val, sizeof val);
  } else if (isbuf) {
    void *data;
    size_t len;
    CHECK(napi_get_buffer_info(env, argv[3], &data, &len));
    r = setsockopt(s->fd, level, name, data, (socklen_t)len);
  } else THROW("setsockopt: value must be a number or a Buffer");
  if (r < 0) {
    throw_errno(env, "setsockopt", errno);
    return NULL;
  }
  return NULL;
}

/* getsockopt(handle, level, name, length) -> Buffer (as long as the kernel filled) */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW("getsockopt(handle, level, name, length)");
  lsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  int32_t level, name;
  uint32_t want;
  CHECK(napi_get_value_int32(env, argv[1], &level));
  CHECK(napi_get_value_int32(env, argv[2], &name));
  CHECK(napi_get_value_uint32(env, argv[3], &want));
  if (want == 0 || want > 4096) THROW("getsockopt: length must be 1..4096");
  unsigned char buf[4096];
  socklen_t len = want;
  memset(buf, 0, want);
  if (getsockopt(s->fd, level, name, buf, &len) < 0) {
    throw_errno(env, "getsockopt", errno);
    return NULL;
  }
  CHECK(napi_create_buffer_copy(env, len, buf, NULL, &out));
  return out;
}

/* ---- send -------------------------------------------------------------------------------- */

/* sendto(handle, buffer, dest?) -> bytes sent. EAGAIN is thrown like any other errno. */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) THROW("sendto(handle, buffer, dest?)");
  lsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) THROW("sendto: data must be a Buffer");
  void *data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  struct sockaddr_storage ss;
  socklen_t alen = 0;
  if (argc >= 3) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_undefined && t != napi_null) {
      alen = parse_addr(env, s->domain, argv[2], &ss, 0);
      if (alen == 0) return NULL;
    }
  }
  ssize_t n;
  do {
    n = sendto(s->fd, data, len, MSG_NOSIGNAL, alen ? (struct sockaddr *)&ss : NULL, alen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    throw_errno(env, "sendto", errno);
    return NULL;
  }
  CHECK(napi_create_int64(env, n, &out));
  return out;
}

/* ---- receive ----------------------------------------------------------------------------- */

static napi_value cmsgs_to_js(napi_env env, struct msghdr *mh) {
  napi_value o, v;
  napi_create_object(env, &o);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo pi;
      char ip[INET_ADDRSTRLEN];
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      napi_create_int32(env, pi.ipi_ifindex, &v);
      napi_set_named_property(env, o, "ifindex", v);
      inet_ntop(AF_INET, &pi.ipi_spec_dst, ip, sizeof ip);
      napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, o, "specDst", v);
      inet_ntop(AF_INET, &pi.ipi_addr, ip, sizeof ip);
      napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, o, "dst", v);
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int ttl;
      memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      napi_create_int32(env, ttl, &v);
      napi_set_named_property(env, o, "ttl", v);
    } else if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct nl_pktinfo))) {
      struct nl_pktinfo npi;
      memcpy(&npi, CMSG_DATA(c), sizeof npi);
      napi_create_uint32(env, npi.group, &v);
      napi_set_named_property(env, o, "group", v);
    }
  }
  return o;
}

/* Calls the JS callback (err, data, source, ancillary, truncated). Returns 0, or -1 if JS threw. */
static int deliver(lsock *s, napi_value err, napi_value data, napi_value src, napi_value anc, int truncated) {
  napi_env env = s->env;
  napi_value cb, recv, argv[5], result, undef;
  if (s->cb == NULL || napi_get_reference_value(env, s->cb, &cb) != napi_ok || cb == NULL) return -1;
  napi_get_undefined(env, &undef);
  napi_get_global(env, &recv);
  argv[0] = err ? err : undef;
  argv[1] = data ? data : undef;
  argv[2] = src ? src : undef;
  argv[3] = anc ? anc : undef;
  napi_get_boolean(env, truncated != 0, &argv[4]);
  s->in_callback = 1;
  napi_status st = napi_make_callback(env, s->actx, recv, cb, 5, argv, &result);
  s->in_callback = 0;
  /* The callback may have paused or closed the socket: finish what drop_actx deferred. */
  if (!s->polling) drop_actx(s);
  if (st != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
    return -1;
  }
  return 0;
}

static int errno_is_transient(int e) {
  /* ENOBUFS: netlink receive queue overran (events were lost; the caller should resync).
     The ICMP-derived ones can surface on raw sockets. None of them break the socket. */
  return e == ENOBUFS || e == ENOMEM || e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH ||
         e == EMSGSIZE || e == ENETDOWN || e == ENXIO;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  lsock *s = (lsock *)h->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (s->fd < 0 || !s->polling) return;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    napi_value e = make_errno_error(env, "uv_poll", -status);
    uv_poll_stop(&s->poll);
    s->polling = 0;
    deliver(s, e, NULL, NULL, NULL, 0);
    napi_close_handle_scope(env, scope);
    return;
  }
  (void)events;
  for (int i = 0; i < MAX_READS_PER_WAKE && s->fd >= 0 && s->polling; i++) {
    struct sockaddr_storage ss;
    unsigned char ctrl[CTRL_BUF_SIZE];
    struct iovec iov = {s->buf, RECV_BUF_SIZE};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    memset(&ss, 0, sizeof ss);
    mh.msg_name = &ss;
    mh.msg_namelen = sizeof ss;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof ctrl;
    ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
    if (n < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      if (e == EINTR) continue;
      napi_handle_scope inner;
      napi_open_handle_scope(env, &inner);
      napi_value ev = make_errno_error(env, "recvmsg", e);
      if (!errno_is_transient(e)) {
        uv_poll_stop(&s->poll);
        s->polling = 0;
      }
      int r = deliver(s, ev, NULL, NULL, NULL, 0);
      napi_close_handle_scope(env, inner);
      if (r < 0 || !errno_is_transient(e)) break;
      continue;
    }
    napi_handle_scope inner;
    napi_open_handle_scope(env, &inner);
    napi_value data, src, anc;
    size_t got = (size_t)n > RECV_BUF_SIZE ? RECV_BUF_SIZE : (size_t)n;
    napi_create_buffer_copy(env, got, s->buf, NULL, &data);
    src = addr_to_js(env, &ss, mh.msg_namelen);
    anc = cmsgs_to_js(env, &mh);
    int r = deliver(s, NULL, data, src, anc, (mh.msg_flags & MSG_TRUNC) != 0);
    napi_close_handle_scope(env, inner);
    if (r < 0) break;
  }
  napi_close_handle_scope(env, scope);
}

/* startReading(handle, callback(err, data, source, ancillary, truncated)) */
static napi_value js_start_reading(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) THROW("startReading(handle, callback)");
  lsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) THROW("startReading: callback must be a function");
  if (s->polling) THROW("startReading: already reading");
  if (s->buf == NULL) {
    s->buf = malloc(RECV_BUF_SIZE);
    if (s->buf == NULL) {
      throw_errno(env, "malloc", ENOMEM);
      return NULL;
    }
  }
  if (!s->poll_init) {
    uv_loop_t *loop;
    CHECK(napi_get_uv_event_loop(env, &loop));
    int r = uv_poll_init(loop, &s->poll, s->fd);
    if (r < 0) {
      throw_errno(env, "uv_poll_init", -r);
      return NULL;
    }
    s->poll.data = s;
    s->poll_init = 1;
  }
  if (s->hook == NULL) CHECK(napi_add_async_cleanup_hook(env, on_env_teardown, s, &s->hook));
  if (s->cb) napi_delete_reference(env, s->cb);
  CHECK(napi_create_reference(env, argv[1], 1, &s->cb));
  if (!s->self) CHECK(napi_create_reference(env, argv[0], 1, &s->self));
  if (!s->actx) {
    CHECK(napi_create_string_utf8(env, "lvsd_socket", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_async_init(env, argv[0], name, &s->actx));
  }
  int r = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (r < 0) {
    throw_errno(env, "uv_poll_start", -r);
    return NULL;
  }
  s->polling = 1;
  return NULL;
}

/* stopReading(handle): the socket stays open; startReading may be called again. */
static napi_value js_stop_reading(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  lsock *s = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_unwrap(env, argv[0], (void **)&s) != napi_ok || s == NULL) THROW("stopReading(handle)");
  if (s->polling) {
    uv_poll_stop(&s->poll);
    s->polling = 0;
  }
  if (s->self) { napi_delete_reference(env, s->self); s->self = NULL; }
  /* Dropped here so a paused socket's finalizer never has to call into the async hooks. */
  drop_actx(s);
  return NULL;
}

/* close(handle): idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  lsock *s = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_unwrap(env, argv[0], (void **)&s) != napi_ok || s == NULL) THROW("close(handle)");
  shutdown_sock(s, 0);
  return NULL;
}

/* ---- interfaces -------------------------------------------------------------------------- */

struct ifq { const char *name; unsigned idx; char out[IF_NAMESIZE]; unsigned char hw[8]; int hwlen; };

static int do_nametoindex(void *p) {
  struct ifq *q = p;
  q->idx = if_nametoindex(q->name);
  return q->idx == 0 ? -1 : 0;
}
static int do_indextoname(void *p) {
  struct ifq *q = p;
  return if_indextoname(q->idx, q->out) == NULL ? -1 : 0;
}
static int do_hwaddr(void *p) {
  struct ifq *q = p;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, q->name, IF_NAMESIZE - 1);
  int r = ioctl(fd, SIOCGIFHWADDR, &ifr);
  int saved = errno;
  close(fd);
  errno = saved;
  if (r < 0) return -1;
  q->hwlen = 6;
  memcpy(q->hw, ifr.ifr_hwaddr.sa_data, 6);
  return 0;
}

static int read_name_and_ns(napi_env env, napi_callback_info info, char *name, size_t nlen, char *ns, size_t nslen,
                            napi_value *first) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return -1;
  *first = argv[0];
  if (name && get_string(env, argv[0], name, nlen) != 0) return -1;
  ns[0] = 0;
  if (argc >= 2) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined && t != napi_null && get_string(env, argv[1], ns, nslen) != 0) return -1;
  }
  return 0;
}

/* ifNameToIndex(name, netns?) -> number; throws ENODEV */
static napi_value js_if_nametoindex(napi_env env, napi_callback_info info) {
  char name[IF_NAMESIZE + 1], ns[256];
  napi_value first, out;
  if (read_name_and_ns(env, info, name, sizeof name, ns, sizeof ns, &first) != 0) THROW("ifNameToIndex(name, netns?)");
  struct ifq q = {name, 0, {0}, {0}, 0};
  int err = 0;
  errno = 0;
  if (with_netns(ns, do_nametoindex, &q, &err) < 0) {
    throw_errno(env, "if_nametoindex", err ? err : (errno ? errno : ENODEV));
    return NULL;
  }
  CHECK(napi_create_uint32(env, q.idx, &out));
  return out;
}

/* ifIndexToName(index, netns?) -> string; throws ENXIO */
static napi_value js_if_indextoname(napi_env env, napi_callback_info info) {
  char ns[256];
  napi_value first, out;
  uint32_t idx;
  if (read_name_and_ns(env, info, NULL, 0, ns, sizeof ns, &first) != 0) THROW("ifIndexToName(index, netns?)");
  CHECK(napi_get_value_uint32(env, first, &idx));
  struct ifq q = {NULL, idx, {0}, {0}, 0};
  int err = 0;
  errno = 0;
  if (with_netns(ns, do_indextoname, &q, &err) < 0) {
    throw_errno(env, "if_indextoname", err ? err : (errno ? errno : ENXIO));
    return NULL;
  }
  CHECK(napi_create_string_utf8(env, q.out, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* ifHwAddr(name, netns?) -> Buffer(6) (SIOCGIFHWADDR) */
static napi_value js_if_hwaddr(napi_env env, napi_callback_info info) {
  char name[IF_NAMESIZE + 1], ns[256];
  napi_value first, out;
  if (read_name_and_ns(env, info, name, sizeof name, ns, sizeof ns, &first) != 0) THROW("ifHwAddr(name, netns?)");
  struct ifq q = {name, 0, {0}, {0}, 0};
  int err = 0;
  if (with_netns(ns, do_hwaddr, &q, &err) < 0) {
    throw_errno(env, "ioctl(SIOCGIFHWADDR)", err ? err : errno);
    return NULL;
  }
  CHECK(napi_create_buffer_copy(env, (size_t)q.hwlen, q.hw, NULL, &out));
  return out;
}

/* ---- health-check connections ------------------------------------------------------------ */

/*
 * One TCP_CHECK or HTTP_GET attempt done in C, the way keepalived's checker does it: a
 * non-blocking connect (after bind to the source address when asked), the prebuilt request
 * written, the answer read until the server closes, close. Each attempt ends in one call of the
 * environment's check callback (checkCallback) with (id, code, phase, data, truncated): code
 * undefined on success, else the errno name; phase 0 connect, 1 after the connection (the
 * request and the answer); data the bytes read (kept up to `cap`, the rest read and dropped,
 * `truncated` then). Parsing and judging stay in TypeScript (src/daemon/check/native.ts); the
 * deadline is the caller's: checkCancel() stops an attempt at once, without a call.
 *
 * All attempts of an environment share one epoll instance of ours, watched by one uv_poll on
 * node's loop (no thread). A uv_poll per attempt cost nine epoll_ctl and ioctl calls an attempt
 * (uv_poll_init probes the fd with an add and a delete, stop and close each delete); this is what
 * a C checker pays: an add, a modify per wait, and close. Registrations are one-shot, so one that
 * has fired is disarmed and close() alone ends it, even while a forked child still holds a copy
 * of the fd; only an attempt cancelled while armed is deleted first. The attempts that end in one
 * wake are called back inside one callback scope, so the promises they settle run once, after
 * the batch, not once per attempt.
 *
 * An attempt is a number, not a JS object: no wrapper, no finalizer and no reference per attempt
 * (a thousand a second). Its id names a slot of the environment's table and carries a sequence
 * number, so an old id (or a stale event) never reaches a newer attempt in the same slot.
 */

#define CHECK_READS_PER_WAKE 64
#define CHECK_EVENTS_PER_WAKE 256
#define CHECK_SLOT_BITS 20 /* at most ~1M attempts in flight */
#define CHECK_SLOT_MASK ((1u << CHECK_SLOT_BITS) - 1)

typedef struct lcheck {
  uint32_t id;
  int fd;
  int phase;       /* 0 connecting, 1 connected: writing the request, then reading */
  int armed;       /* a one-shot registration that has not fired yet */
  int truncated;
  unsigned char *data;
  size_t len, size, cap;
  size_t reqlen, reqoff;
  unsigned char req[]; /* the request to write; empty for TCP_CHECK */
} lcheck;

/* Per environment: the async context and callback every attempt uses, the epoll instance and its
 * uv_poll, and the attempts' table. */
typedef struct {
  napi_env env;
  napi_async_context actx;
  napi_ref cb;
  int epfd;
  uv_poll_t *ep_poll; /* its own allocation: freed by its close callback, after the env */
  uint32_t inflight;  /* the poll keeps the loop alive only while attempts are in flight */
  lcheck **slots;
  uint32_t nslots, used, seq;
  uint32_t *free_list;
  uint32_t nfree;
  /* during a wake: the callback (and its receiver) the attempts that end are called back with */
  napi_value batch_cb, batch_recv;
} check_env;

static void on_ep_poll_closed(uv_handle_t *h) { free(h); }

static void check_env_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  check_env *ce = data;
  /* any attempt still open goes with the environment */
  for (uint32_t i = 0; i < ce->used; i++) {
    lcheck *c = ce->slots[i];
    if (c == NULL) continue;
    if (c->fd >= 0) close(c->fd);
    free(c->data);
    free(c);
  }
  if (ce->ep_poll) uv_close((uv_handle_t *)ce->ep_poll, on_ep_poll_closed);
  if (ce->epfd >= 0) close(ce->epfd);
  free(ce->slots);
  free(ce->free_list);
  free(ce);
}

static check_env *get_check_env(napi_env env) {
  check_env *ce = NULL;
  napi_get_instance_data(env, (void **)&ce);
  return ce;
}

static __thread unsigned char check_rbuf[16384];

/* Arms the attempt's one-shot registration for `events` (added the first time). */
static int check_arm(check_env *ce, lcheck *c, uint32_t events) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = c->id;
  int first = c->armed < 0;
  if (epoll_ctl(ce->epfd, first ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0) return -errno;
  c->armed = 1;
  return 0;
}

/* Closes the fd (deleting the registration first only when it is still armed), frees the slot
 * and the attempt. */
static void check_close(check_env *ce, lcheck *c) {
  if (c->fd >= 0) {
    if (c->armed > 0) {
      struct epoll_event dummy;
      memset(&dummy, 0, sizeof dummy);
      epoll_ctl(ce->epfd, EPOLL_CTL_DEL, c->fd, &dummy);
    }
    close(c->fd);
    c->fd = -1;
  }
  uint32_t slot = c->id & CHECK_SLOT_MASK;
  if (slot < ce->nslots && ce->slots[slot] == c) {
    ce->slots[slot] = NULL;
    ce->free_list[ce->nfree++] = slot;
    if (--ce->inflight == 0 && ce->ep_poll) uv_unref((uv_handle_t *)ce->ep_poll);
  }
  free(c->data);
  free(c);
}

/* Calls back once (err 0: success) and closes the attempt. Only inside a wake's batch. */
static void check_done(check_env *ce, lcheck *c, int err) {
  napi_env env = ce->env;
  napi_handle_scope scope;
  napi_value argv[5], result;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    check_close(ce, c);
    return;
  }
  napi_create_uint32(env, c->id, &argv[0]);
  if (err) {
    const char *code = errno_name(err);
    char codebuf[16];
    if (code == NULL) {
      snprintf(codebuf, sizeof codebuf, "E%d", err);
      code = codebuf;
    }
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &argv[1]);
  } else napi_get_undefined(env, &argv[1]);
  napi_create_uint32(env, (uint32_t)c->phase, &argv[2]);
  if (c->phase == 1) napi_create_buffer_copy(env, c->len, c->len ? c->data : (const void *)"", NULL, &argv[3]);
  else napi_get_undefined(env, &argv[3]);
  napi_get_boolean(env, c->truncated != 0, &argv[4]);
  /* closed before the callback, so whatever it starts never meets this fd or slot */
  check_close(ce, c);
  if (ce->batch_cb != NULL) {
    napi_status st = napi_call_function(env, ce->batch_recv, ce->batch_cb, 5, argv, &result);
    if (st != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value ex;
        napi_get_and_clear_last_exception(env, &ex);
        napi_fatal_exception(env, ex);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/* Reads what is there. Returns 1 at the server's close, -errno on an error, 0 for "more later". */
static int check_read(lcheck *c) {
  for (int i = 0; i < CHECK_READS_PER_WAKE; i++) {
    ssize_t n = recv(c->fd, check_rbuf, sizeof check_rbuf, 0);
    if (n == 0) return 1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -errno;
    }
    size_t keep = (size_t)n;
    if (c->len + keep > c->cap) {
      keep = c->cap - c->len;
      c->truncated = 1;
    }
    if (keep > 0) {
      if (c->len + keep > c->size) {
        size_t size = c->size ? c->size : 1024;
        while (size < c->len + keep) size *= 2;
        if (size > c->cap) size = c->cap;
        unsigned char *d = realloc(c->data, size);
        if (d == NULL) return -ENOMEM;
        c->data = d;
        c->size = size;
      }
      memcpy(c->data + c->len, check_rbuf, keep);
      c->len += keep;
    }
  }
  return 0;
}

static int check_sock_error(lcheck *c, int fallback) {
  int e = 0;
  socklen_t l = sizeof e;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) return errno;
  return e ? e : fallback;
}

/* One event of one attempt (its registration has fired, so it is disarmed). */
static void check_event(check_env *ce, lcheck *c, uint32_t events) {
  /* an error, or both directions shut: no use waiting for more */
  int failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  c->armed = 0;
  if (c->phase == 0) {
    /* connected or failed: SO_ERROR tells which */
    int e = check_sock_error(c, (events & EPOLLERR) ? EBADF : 0);
    if (e) return check_done(ce, c, e);
    if (c->reqlen == 0) return check_done(ce, c, 0); /* TCP_CHECK: the connection is the answer */
    c->phase = 1;
    events = EPOLLOUT;
  }
  if (c->reqoff < c->reqlen) {
    if (!(events & EPOLLOUT) && !failed) {
      int r = check_arm(ce, c, EPOLLOUT);
      if (r < 0) check_done(ce, c, -r);
      return;
    }
    for (;;) {
      ssize_t n = send(c->fd, c->req + c->reqoff, c->reqlen - c->reqoff, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (failed) return check_done(ce, c, check_sock_error(c, EBADF));
        break;
      }
      if (n < 0) return check_done(ce, c, errno);
      c->reqoff += (size_t)n;
      if (c->reqoff == c->reqlen) break;
    }
    if (c->reqoff < c->reqlen || !failed) {
      /* the rest of the request, or the answer, comes later */
      int r = check_arm(ce, c, c->reqoff < c->reqlen ? EPOLLOUT : EPOLLIN);
      if (r < 0) check_done(ce, c, -r);
      return;
    }
  }
  /* reading: take what is there even after an error (a reset after a complete answer) */
  int r = check_read(c);
  if (r == 1) return check_done(ce, c, 0);
  if (r < 0) return check_done(ce, c, -r);
  if (failed) return check_done(ce, c, check_sock_error(c, EBADF));
  r = check_arm(ce, c, EPOLLIN);
  if (r < 0) check_done(ce, c, -r);
}

/* The epoll instance is readable: handle what it has, calling back inside one scope. */
static void on_check_wake(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  check_env *ce = (check_env *)h->data;
  struct epoll_event evs[CHECK_EVENTS_PER_WAKE];
  int n = epoll_wait(ce->epfd, evs, CHECK_EVENTS_PER_WAKE, 0);
  if (n <= 0) return;
  napi_env env = ce->env;
  napi_handle_scope hscope;
  napi_callback_scope cscope;
  napi_value cb = NULL, recv;
  if (napi_open_handle_scope(env, &hscope) != napi_ok) return;
  if (ce->cb) napi_get_reference_value(env, ce->cb, &cb);
  napi_get_global(env, &recv);
  int scoped = napi_open_callback_scope(env, recv, ce->actx, &cscope) == napi_ok;
  ce->batch_cb = cb;
  ce->batch_recv = recv;
  for (int i = 0; i < n; i++) {
    uint32_t id = (uint32_t)evs[i].data.u64;
    uint32_t slot = id & CHECK_SLOT_MASK;
    /* cancelled, or ended, since (by a callback earlier in this batch): not ours any more */
    if (slot >= ce->nslots || ce->slots[slot] == NULL || ce->slots[slot]->id != id) continue;
    check_event(ce, ce->slots[slot], evs[i].events);
  }
  ce->batch_cb = ce->batch_recv = NULL;
  /* closing the scope runs the microtasks the callbacks queued, once for the batch */
  if (scoped) napi_close_callback_scope(env, cscope);
  napi_close_handle_scope(env, hscope);
}

static int parse_ip_port(const char *ip, uint32_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    *len = sizeof *sin;
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    *len = sizeof *sin6;
    return 0;
  }
  return -1;
}

/* checkCallback(callback(id, code, phase, data, truncated)): the one function every attempt of
 * this environment ends in. Set it before the first checkStart. */
static napi_value js_check_callback(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], res, name;
  napi_valuetype t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) THROW("checkCallback(callback)");
  check_env *ce = get_check_env(env);
  if (ce == NULL) {
    ce = calloc(1, sizeof *ce);
    if (ce == NULL) {
      throw_errno(env, "calloc", ENOMEM);
      return NULL;
    }
    ce->env = env;
    ce->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ce->epfd < 0) {
      int e = errno;
      free(ce);
      throw_errno(env, "epoll_create1", e);
      return NULL;
    }
    uv_loop_t *loop;
    int r = -EINVAL;
    ce->ep_poll = malloc(sizeof *ce->ep_poll);
    if (ce->ep_poll && napi_get_uv_event_loop(env, &loop) == napi_ok) r = uv_poll_init(loop, ce->ep_poll, ce->epfd);
    if (r == 0) {
      ce->ep_poll->data = ce;
      r = uv_poll_start(ce->ep_poll, UV_READABLE, on_check_wake);
      if (r < 0) uv_close((uv_handle_t *)ce->ep_poll, on_ep_poll_closed);
      else uv_unref((uv_handle_t *)ce->ep_poll); /* idle: it does not keep the loop alive */
    } else free(ce->ep_poll);
    if (r < 0) {
      close(ce->epfd);
      free(ce);
      throw_errno(env, "uv_poll_start", -r);
      return NULL;
    }
    CHECK(napi_create_object(env, &res));
    CHECK(napi_create_string_utf8(env, "lvsd_check", NAPI_AUTO_LENGTH, &name));
    if (napi_async_init(env, res, name, &ce->actx) != napi_ok || napi_set_instance_data(env, ce, check_env_free, NULL) != napi_ok) {
      uv_close((uv_handle_t *)ce->ep_poll, on_ep_poll_closed);
      close(ce->epfd);
      free(ce);
      napi_throw_error(env, "ENOMEM", "lvsd_socket: cannot set up the check context");
      return NULL;
    }
  }
  if (ce->cb) napi_delete_reference(env, ce->cb);
  ce->cb = NULL;
  CHECK(napi_create_reference(env, argv[0], 1, &ce->cb));
  return NULL;
}

/* Takes a free slot (growing the table); -1 when out of memory or slots. */
static int64_t check_slot(check_env *ce) {
  if (ce->nfree > 0) return ce->free_list[--ce->nfree];
  if (ce->used == ce->nslots) {
    uint32_t n = ce->nslots ? ce->nslots * 2 : 256;
    if (n > CHECK_SLOT_MASK + 1) return -1;
    lcheck **s = realloc(ce->slots, n * sizeof *s);
    if (s == NULL) return -1;
    ce->slots = s;
    uint32_t *f = realloc(ce->free_list, n * sizeof *f);
    if (f == NULL) return -1;
    ce->free_list = f;
    memset(ce->slots + ce->nslots, 0, (n - ce->nslots) * sizeof *s);
    ce->nslots = n;
  }
  return ce->used++;
}

/* checkStart(address, port, bindto | undefined, request: Buffer | undefined, cap)
 *   -> the attempt's id (a number), or the errno name when it failed at once (socket, bind,
 *   connect): then there is no callback. */
static napi_value js_check_start(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) THROW("checkStart(address, port, bindto, request, cap)");
  char ip[64], src[64];
  uint32_t port, cap;
  napi_valuetype t;
  if (get_string(env, argv[0], ip, sizeof ip) != 0) THROW("checkStart: address must be an IP address string");
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  if (port == 0 || port > 65535) THROW("checkStart: port must be 1..65535");
  src[0] = 0;
  napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && t != napi_null && get_string(env, argv[2], src, sizeof src) != 0) THROW("checkStart: bindto must be an IP address string");
  void *req = NULL;
  size_t reqlen = 0;
  napi_typeof(env, argv[3], &t);
  if (t != napi_undefined && t != napi_null) {
    bool isbuf = false;
    napi_is_buffer(env, argv[3], &isbuf);
    if (!isbuf) THROW("checkStart: request must be a Buffer");
    CHECK(napi_get_buffer_info(env, argv[3], &req, &reqlen));
  }
  CHECK(napi_get_value_uint32(env, argv[4], &cap));
  check_env *ce = get_check_env(env);
  if (ce == NULL || ce->cb == NULL) THROW("checkStart: call checkCallback first");

  struct sockaddr_storage dst, bsrc;
  socklen_t dlen = 0, blen = 0;
  int fd = -1, e = 0;
  if (parse_ip_port(ip, port, &dst, &dlen) != 0) e = EINVAL;
  else if (src[0] && (parse_ip_port(src, 0, &bsrc, &blen) != 0 || bsrc.ss_family != dst.ss_family)) e = EINVAL;
  if (e == 0) {
    fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) e = errno;
    else if (src[0] && bind(fd, (struct sockaddr *)&bsrc, blen) < 0) e = errno;
    else if (connect(fd, (struct sockaddr *)&dst, dlen) < 0 && errno != EINPROGRESS) e = errno;
  }
  if (e) {
    if (fd >= 0) close(fd);
    const char *code = errno_name(e);
    char codebuf[16];
    if (code == NULL) {
      snprintf(codebuf, sizeof codebuf, "E%d", e);
      code = codebuf;
    }
    CHECK(napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &out));
    return out;
  }

  lcheck *c = calloc(1, sizeof *c + reqlen);
  int64_t slot = c ? check_slot(ce) : -1;
  if (slot < 0) {
    close(fd);
    free(c);
    throw_errno(env, "checkStart", ENOMEM);
    return NULL;
  }
  ce->seq = (ce->seq + 1) & 0x7ff;
  c->id = ((uint32_t)ce->seq << CHECK_SLOT_BITS) | (uint32_t)slot;
  c->fd = fd;
  c->armed = -1; /* not added yet */
  c->cap = cap;
  c->reqlen = reqlen;
  if (reqlen) memcpy(c->req, req, reqlen);
  ce->slots[slot] = c;
  if (ce->inflight++ == 0) uv_ref((uv_handle_t *)ce->ep_poll);
  int r = check_arm(ce, c, EPOLLOUT);
  if (r < 0) {
    c->armed = 0;
    check_close(ce, c);
    throw_errno(env, "epoll_ctl", -r);
    return NULL;
  }
  CHECK(napi_create_uint32(env, c->id, &out));
  return out;
}

/* checkCancel(id) -> the phase the attempt was in (0 connecting, 1 connected), or undefined
 * when it has already ended. Stops it at once, without a callback. */
static napi_value js_check_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out = NULL;
  uint32_t id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) THROW("checkCancel(id)");
  check_env *ce = get_check_env(env);
  uint32_t slot = id & CHECK_SLOT_MASK;
  if (ce && slot < ce->nslots && ce->slots[slot] != NULL && ce->slots[slot]->id == id) {
    lcheck *c = ce->slots[slot];
    CHECK(napi_create_uint32(env, (uint32_t)c->phase, &out));
    check_close(ce, c);
  }
  return out;
}

/* ---- module ------------------------------------------------------------------------------ */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fd", NULL, js_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockname", NULL, js_getsockname, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendto", NULL, js_sendto, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startReading", NULL, js_start_reading, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopReading", NULL, js_stop_reading, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifNameToIndex", NULL, js_if_nametoindex, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifIndexToName", NULL, js_if_indextoname, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifHwAddr", NULL, js_if_hwaddr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"checkCallback", NULL, js_check_callback, NULL, NULL, NULL, napi_enumerable, NULL},
      {"checkStart", NULL, js_check_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"checkCancel", NULL, js_check_cancel, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value ver;
  napi_create_uint32(env, LVSD_ABI_VERSION, &ver);
  napi_set_named_property(env, exports, "abiVersion", ver);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
