/*
 * openTun(name[, netns]) -> fd: attaches to the TUN device `name`
 * (IFF_TUN | IFF_NO_PI) and returns a blocking file descriptor.
 * udpSocket(ipv4, port[, netns]) -> fd: a bound IPv4 UDP socket, for
 * dgram's bind({ fd }).
 *
 * Node has no ioctl (TUNSETIFF is the only way to attach to a TUN device)
 * and no way to create a socket in another network namespace. With `netns`
 * (a path such as /run/netns/NAME) the calling thread enters that namespace
 * with setns(2) for the open and goes back to its own before returning: a
 * TUN file and a socket belong for life to the namespace they were created
 * in, whichever thread uses them later. The call is synchronous on Node's
 * main thread, so no JavaScript runs while that thread is elsewhere, and
 * setns(CLONE_NEWNET) moves only the calling thread. Everything else (read,
 * write, close) is done with node:fs and node:dgram on the descriptor.
 * Plain N-API, so the built addon works on every Node release with the same
 * ABI version.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

static const char *code_of(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    default: return "EIO";
  }
}

static napi_value fail(napi_env env, const char *what, int err) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code_of(err), msg);
  return NULL;
}

/* The optional netns argument: 1 when given (copied to `path`), 0 when absent/undefined/null, -1 when invalid. */
static int netns_arg(napi_env env, napi_value v, char *path, size_t size) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (napi_get_value_string_utf8(env, v, path, size, &len) != napi_ok || len == 0 || len >= size - 1) return -1;
  return 1;
}

/* Enters the namespace at `path`; *home is this thread's own namespace to come back to. Returns 0 or an errno. */
static int enter_netns(const char *path, int *home) {
  *home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*home < 0) return errno;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(*home);
    return err;
  }
  int rc = setns(target, CLONE_NEWNET);
  int err = errno;
  close(target);
  if (rc < 0) {
    close(*home);
    return err;
  }
  return 0;
}

/* Back to the thread's own namespace. Failing here would leave Node's main thread in the wrong namespace for good: stop. */
static void leave_netns(int home) {
  if (setns(home, CLONE_NEWNET) < 0) napi_fatal_error("ovlnet_tun", NAPI_AUTO_LENGTH, "cannot return to the own network namespace", NAPI_AUTO_LENGTH);
  close(home);
}

/* Attaches in the current namespace; returns the fd or -errno (ENODEV: no such device, never created here). */
static int attach(const char *name, size_t len) {
  /* TUNSETIFF creates a missing device (not persistent, gone with us): only attach to one that exists. */
  if (if_nametoindex(name) == 0) return -ENODEV;
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/*
 * Runs open_fd(arg) in the network namespace `ns` when in_ns (on this thread,
 * back home before returning), else here. Returns the fd or -errno; sets
 * *entered to 0 when the namespace could not be entered.
 */
static int open_in_netns(int in_ns, const char *ns, int (*open_fd)(const void *), const void *arg, int *entered) {
  int home = -1;
  *entered = 1;
  if (in_ns) {
    int err = enter_netns(ns, &home);
    if (err) {
      *entered = 0;
      return -err;
    }
  }
  int fd = open_fd(arg);
  if (in_ns) leave_netns(home);
  return fd;
}

struct tun_args { const char *name; size_t len; };
static int open_tun_fd(const void *a) {
  const struct tun_args *t = a;
  return attach(t->name, t->len);
}

static napi_value open_tun(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2];
  char name[IFNAMSIZ + 1], ns[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len == 0 || len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "openTun(name[, netns]): name must be a string of 1 to 15 bytes");
    return NULL;
  }
  int in_ns = argc < 2 ? 0 : netns_arg(env, argv[1], ns, sizeof ns);
  if (in_ns < 0) {
    napi_throw_type_error(env, NULL, "openTun(name[, netns]): netns must be a path");
    return NULL;
  }
  struct tun_args t = { name, len };
  int entered;
  int fd = open_in_netns(in_ns, ns, open_tun_fd, &t, &entered);
  if (!entered) return fail(env, "entering the network namespace", -fd);
  if (fd == -ENODEV) return fail(env, "no such device", ENODEV);
  if (fd < 0) return fail(env, "attaching to the tun device", -fd);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* A bound IPv4 UDP socket in the current namespace; returns the fd or -errno. */
static int bound_socket(struct in_addr addr, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr = addr;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

struct socket_args { struct in_addr addr; int port; };
static int open_socket_fd(const void *a) {
  const struct socket_args *s = a;
  return bound_socket(s->addr, s->port);
}

static napi_value udp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3, len = 0;
  napi_value argv[3];
  char ip[INET_ADDRSTRLEN + 1], ns[4096];
  int32_t port = -1;
  struct in_addr addr;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], ip, sizeof ip, &len) != napi_ok || inet_pton(AF_INET, ip, &addr) != 1
      || napi_get_value_int32(env, argv[1], &port) != napi_ok || port < 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "udpSocket(ipv4, port[, netns]): an IPv4 address and a port");
    return NULL;
  }
  int in_ns = argc < 3 ? 0 : netns_arg(env, argv[2], ns, sizeof ns);
  if (in_ns < 0) {
    napi_throw_type_error(env, NULL, "udpSocket(ipv4, port[, netns]): netns must be a path");
    return NULL;
  }
  struct socket_args sa = { addr, port };
  int entered;
  int fd = open_in_netns(in_ns, ns, open_socket_fd, &sa, &entered);
  if (!entered) return fail(env, "entering the network namespace", -fd);
  if (fd < 0) return fail(env, "bind", -fd);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "openTun", NAPI_AUTO_LENGTH, open_tun, NULL, &fn);
  napi_set_named_property(env, exports, "openTun", fn);
  napi_create_function(env, "udpSocket", NAPI_AUTO_LENGTH, udp_socket, NULL, &fn);
  napi_set_named_property(env, exports, "udpSocket", fn);
  return exports;
}
