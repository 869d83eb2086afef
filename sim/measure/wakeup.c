// Wake-up latency of a short CPU burst beside CPU-bound processes.
//
// Forks `hogs` processes that spin forever, then the parent (the
// "sleeper") repeats: sleep `sleep_ms`, burn `burst` of its own CPU time
// (CLOCK_THREAD_CPUTIME_ID), record the burst's wall time. Run it under
// `taskset -c 0` so the hogs and the sleeper share one core; the children
// inherit the affinity. Prints one line per burst:
//   hogs sleep_us burst_us wall_us cpu_us window_us other_us
// `other_us` is how much of the window (from just before the sleep to just
// after the burst) neither the hogs nor the sleeper ran: with hogs, core 0
// is never idle, so that is time taken by other processes on the shared
// machine, or by the hypervisor. Without hogs the window is the burst.
// wakeup.py runs it for every case, keeps the quiet bursts and takes medians.
//
// Usage: wakeup HOGS SLEEP_MS REPS BURST_MS...
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

// CPU time a process has had, in ns: the first field of its schedstat.
static long long oncpu(int fd) {
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    return atoll(buf);
}

static long long hogs_oncpu(const int *fds, int n) {
    long long sum = 0;
    for (int i = 0; i < n; i++) sum += oncpu(fds[i]);
    return sum;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOGS SLEEP_MS REPS BURST_MS...\n", argv[0]);
        return 2;
    }
    int hogs = atoi(argv[1]);
    double sleep_ms = atof(argv[2]);
    int reps = atoi(argv[3]);
    int nb = argc - 4;
    pid_t pids[256];
    int fds[256];
    if (hogs > 256) return 2;
    for (int i = 0; i < hogs; i++) {
        pid_t p = fork();
        if (p == 0) {
            volatile unsigned long x = 0;
            for (;;) x++;
        }
        pids[i] = p;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/schedstat", p);
        fds[i] = open(path, O_RDONLY);
    }
    // Let the hogs settle into the run queue before the first burst.
    struct timespec settle = {0, 300000000};
    nanosleep(&settle, NULL);
    struct timespec nap = {(time_t)(sleep_ms / 1000), (long)(sleep_ms * 1e6) % 1000000000L};
    for (int r = 0; r < reps; r++) {
        for (int b = 0; b < nb; b++) {
            // Rotate the order so a slow stretch of the machine does not
            // always fall on the same burst size.
            double burst_ms = atof(argv[4 + (b + r) % nb]);
            long long burst = (long long)(burst_ms * 1e6);
            // Reading the hogs' times stays outside the burst (before the
            // sleep, after the burst) so that it does not eat the burst's slice.
            long long h0 = hogs_oncpu(fds, hogs), s0 = ns(CLOCK_THREAD_CPUTIME_ID), v0 = ns(CLOCK_MONOTONIC);
            nanosleep(&nap, NULL);
            long long w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID), c;
            do {
                c = ns(CLOCK_THREAD_CPUTIME_ID);
            } while (c - c0 < burst);
            long long w1 = ns(CLOCK_MONOTONIC);
            long long h1 = hogs_oncpu(fds, hogs), s1 = ns(CLOCK_THREAD_CPUTIME_ID), v1 = ns(CLOCK_MONOTONIC);
            // Without hogs the core may idle during the sleep: count what
            // the burst itself waited for instead.
            long long other = hogs ? (v1 - v0) - (h1 - h0) - (s1 - s0) : (w1 - w0) - (c - c0);
            printf("%d %lld %lld %lld %lld %lld %lld\n", hogs, (long long)(sleep_ms * 1000), burst / 1000,
                   (w1 - w0) / 1000, (c - c0) / 1000, hogs ? (v1 - v0) / 1000 : (w1 - w0) / 1000, other / 1000);
        }
    }
    fflush(stdout);
    for (int i = 0; i < hogs; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < hogs; i++) waitpid(pids[i], NULL, 0);
    return 0;
}
