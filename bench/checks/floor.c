// The floor under any checker on this machine: one HTTP/1.0 exchange per connection on loopback
// done the way a C checker such as keepalived's does it (non-blocking connect, epoll, one write,
// read to the server's close, close), with no per-check logic. Mostly the kernel's time: on
// loopback the TCP handshake and the server side's receive run in this process's system calls.
// Built and started by run.ts --floors (needs a C compiler): floor RATE SECONDS PORTS BASE
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double user(void) { struct rusage r; getrusage(RUSAGE_SELF, &r); return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6; }
static double cpu(void) { struct rusage r; getrusage(RUSAGE_SELF, &r); return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6; }
int main(int argc, char **argv) {
  int rate = atoi(argv[1]), secs = atoi(argv[2]), ports = atoi(argv[3]), base = atoi(argv[4]);
  int ep = epoll_create1(0); char buf[4096]; long done = 0, fail = 0; int k = 0;
  double start = now(), next = start, c0 = 0, u0 = 0, t0 = 0; long d0 = 0; int warm = 0;
  for (;;) {
    double t = now();
    if (!warm && t - start > 2) { warm = 1; c0 = cpu(); u0 = user(); t0 = t; d0 = done; }
    if (warm && t - t0 > secs) break;
    while (next <= t) {
      for (int j = 0; j < 10; j++) {
      int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(base + (k++ % ports)) };
      inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
      connect(s, (struct sockaddr *)&a, sizeof a);
      struct epoll_event e = { .events = EPOLLOUT, .data.fd = s };
      epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
      }
      next += 10.0 / rate;
    }
    struct epoll_event ev[64];
    int ms = (int)((next - now()) * 1000 + 0.999); if (ms < 0) ms = 0;
    int n = epoll_wait(ep, ev, 64, ms);
    for (int i = 0; i < n; i++) {
      int s = ev[i].data.fd;
      if (ev[i].events & EPOLLOUT) {
        const char *req = "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1\r\n\r\n";
        if (write(s, req, strlen(req)) < 0) { fail++; close(s); continue; }
        struct epoll_event e = { .events = EPOLLIN, .data.fd = s };
        epoll_ctl(ep, EPOLL_CTL_MOD, s, &e);
      } else {
        ssize_t r;
        while ((r = read(s, buf, sizeof buf)) > 0) {}
        if (r == 0 || (r < 0 && errno != EAGAIN)) { if (r < 0) fail++; else done++; close(s); }
      }
    }
  }
  double w = now() - t0, c = cpu() - c0, us = user() - u0; long n = done - d0;
  printf("{\"floor\":\"c-epoll\",\"checksPerSec\":%.0f,\"cpuPct\":%.2f,\"userPct\":%.2f,\"usPerCheck\":%.0f,\"failed\":%ld}\n", n / w, 100 * c / w, 100 * us / w, 1e6 * c / (n ? n : 1), fail);
  return 0;
}
