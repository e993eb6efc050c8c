/* One WebSocket frame to many sockets, without the GIL (called through ctypes).
 *
 * cc_fanout sends the same bytes to each file descriptor with one non-blocking send() per
 * socket (MSG_DONTWAIT | MSG_NOSIGNAL: never blocks, never raises SIGPIPE) and stores in
 * res[i] the number of bytes the kernel took (possibly fewer than len) or -errno. With
 * threads > 1 the descriptors are split in contiguous slices, one per thread, the calling
 * thread taking the first: on loopback most of a send's cost is the kernel's (the receiving
 * socket's processing runs in the sender's context), so the slices use the other cores.
 * Each descriptor appears once, so no two threads ever write to the same socket.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>

#define MAX_THREADS 16
#define MIN_PER_THREAD 64

struct slice {
    const int *fds;
    int n;
    const char *buf;
    long len;
    long *res;
};

static void send_slice(const struct slice *s) {
    for (int i = 0; i < s->n; i++) {
        ssize_t r = send(s->fds[i], s->buf, (size_t)s->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        s->res[i] = r < 0 ? -(long)errno : (long)r;
    }
}

static void *run_slice(void *arg) {
    send_slice((const struct slice *)arg);
    return NULL;
}

/* Returns the number of threads used (>= 1). */
int cc_fanout(const int *fds, int n, const char *buf, long len, long *res, int threads) {
    if (n <= 0)
        return 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > n / MIN_PER_THREAD)
        threads = n / MIN_PER_THREAD;
    if (threads < 1)
        threads = 1;
    struct slice slices[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    int per = (n + threads - 1) / threads;
    for (int k = 0; k < threads; k++) {
        int lo = k * per, hi = lo + per > n ? n : lo + per;
        slices[k] = (struct slice){fds + lo, hi > lo ? hi - lo : 0, buf, len, res + lo};
    }
    for (int k = 1; k < threads; k++) /* a thread that cannot start: its slice runs here */
        started[k] = pthread_create(&ids[k], NULL, run_slice, &slices[k]) == 0;
    send_slice(&slices[0]);
    for (int k = 1; k < threads; k++) {
        if (started[k])
            pthread_join(ids[k], NULL);
        else
            send_slice(&slices[k]);
    }
    return threads;
}
