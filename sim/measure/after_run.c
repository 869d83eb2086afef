// The wait of a short CPU burst that follows a short sleep that follows a
// long burst, beside CPU-bound processes: what a PHP child does when it
// connects to MySQL right after computing (docs/model.md, "After running,
// no credit"). Each repetition starts after a 20 ms sleep, burns PRE_MS of
// its own CPU time, sleeps SLEEP_US, then burns BURST_MS. Usage:
//   cc -O2 -o after_run after_run.c
//   taskset -c 0 ./after_run HOGS PRE_MS SLEEP_US BURST_MS REPS
// (the forked hogs inherit the affinity). Prints one line per repetition:
//   hogs pre_us sleep_us burst_us extra_us
// extra = wall from before the sleep to the burst's end, less the sleep
// and the burst's CPU: what the woken process waited for the core.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long ns(clockid_t c) { struct timespec t; clock_gettime(c, &t); return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }
static void burn(long long n) { long long c0 = ns(CLOCK_THREAD_CPUTIME_ID); while (ns(CLOCK_THREAD_CPUTIME_ID) - c0 < n) {} }
static void nap(long long n) { struct timespec t = {n / 1000000000LL, n % 1000000000LL}; nanosleep(&t, NULL); }
int main(int argc, char **argv) {
    if (argc < 6) return 2;
    int hogs = atoi(argv[1]);
    long long pre = atof(argv[2]) * 1e6, sleep_ns = atof(argv[3]) * 1e3, burst = atof(argv[4]) * 1e6;
    int reps = atoi(argv[5]);
    pid_t pids[64];
    for (int i = 0; i < hogs && i < 64; i++) {
        pid_t p = fork();
        if (p == 0) { volatile unsigned long x = 0; for (;;) x++; }
        pids[i] = p;
    }
    nap(300000000LL);
    for (int r = 0; r < reps; r++) {
        nap(20000000LL);  // start each repetition after a long sleep
        burn(pre);
        long long w0 = ns(CLOCK_MONOTONIC);
        nap(sleep_ns);
        long long c0 = ns(CLOCK_THREAD_CPUTIME_ID);
        burn(burst);
        long long w1 = ns(CLOCK_MONOTONIC), c1 = ns(CLOCK_THREAD_CPUTIME_ID);
        printf("%d %lld %lld %lld %lld\n", hogs, pre / 1000, sleep_ns / 1000, burst / 1000, ((w1 - w0) - sleep_ns - (c1 - c0)) / 1000);
    }
    fflush(stdout);
    for (int i = 0; i < hogs; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < hogs; i++) waitpid(pids[i], NULL, 0);
    return 0;
}
