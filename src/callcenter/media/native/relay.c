/* Native fast path of the media engine's plain relay (see docs/media.md, "Native relay").
 *
 * One thread per engine runs an epoll loop over the RTP sockets of bridged pairs handed over by
 * Python (``callcenter.media.native``) and forwards with recvmmsg/sendmmsg batches, never
 * touching Python. Per leg it does exactly what ``Endpoint._handle_relay`` does: drop datagrams
 * shorter than 12 octets; until latched, drop what is not RTP version 2 or is RTCP (RFC 5761
 * §4: second octet 192-223) and latch the remote on the first other packet (symmetric RTP);
 * count packets in/out; keep the RTP receive statistics of ``callcenter.rtp.stats.RtpStats``
 * (A.1 sequence validation, A.8 jitter) when the leg has RTCP; copy telephone-event packets
 * (PT == te_pt) to Python over ``event_fd`` (4-octet leg id + the datagram) as well as
 * forwarding them. Python owns the sockets (it never closes them while attached; it detaches
 * first). One mutex guards all state: the thread holds it while it handles one epoll batch,
 * Python's calls take it (ctypes releases the GIL, and this thread never needs the GIL).
 *
 * Build: gcc -O2 -shared -fPIC -o librelay.so relay.c -lpthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CCR_MAX_SRC 4
#define BATCH 32
#define ROUNDS 4
#define PKT_MAX 2048
#define RTP_SEQ_MOD 65536
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define MIN_SEQUENTIAL 2
#define WAKE_TAG UINT64_MAX

/* Mirrors callcenter.rtp.stats.SourceStats (without lsr/sr_arrival: Python keeps those). */
struct ccr_src {
    int64_t ssrc; /* -1: slot unused */
    int64_t max_seq, cycles, base_seq, bad_seq, probation;
    int64_t received, expected_prior, received_prior, octets;
    int64_t has_transit, transit;
    double jitter;
};

/* One leg as exchanged with Python (ctypes mirror in native/__init__.py). */
struct ccr_leg {
    int64_t id, te_pt, has_stats, latched, has_remote, port;
    int64_t packets_in, packets_out, errors; /* deltas since the last get/detach */
    int64_t active;                          /* index into src of the active SSRC, or -1 */
    char host[64];
    struct ccr_src src[CCR_MAX_SRC];
};

struct side {
    int fd;
    struct ccr_leg leg;
    struct sockaddr_storage remote;
    socklen_t remote_len;
};

struct pair {
    uint32_t gen;
    int used;
    struct side s[2];
};

struct ccr {
    pthread_mutex_t mu;
    pthread_t thread;
    int epfd, wakefd, event_fd, stop;
    long coalesce_ns; /* after a light epoll batch, wait this long so the next one is fuller */
    struct pair *pairs;
    int npairs;
    uint64_t packets; /* relayed by this thread in all */
    uint8_t bufs[BATCH][PKT_MAX];
};

static int to_sockaddr(const struct ccr_leg *l, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (strchr(l->host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)l->port);
        if (inet_pton(AF_INET6, l->host, &a->sin6_addr) != 1) return -1;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)l->port);
        if (inet_pton(AF_INET, l->host, &a->sin_addr) != 1) return -1;
        *len = sizeof *a;
    }
    return 0;
}

static void from_sockaddr(struct ccr_leg *l, const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, l->host, sizeof l->host);
        l->port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, l->host, sizeof l->host);
        l->port = ntohs(a->sin_port);
    }
}

/* -- RFC 3550 A.1 / A.8, exactly as callcenter.rtp.stats ---------------------------------- */

static void init_seq(struct ccr_src *s, int64_t seq) {
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = RTP_SEQ_MOD + 1;
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
}

static void first(struct ccr_src *s, int64_t ssrc, int64_t seq) {
    memset(s, 0, sizeof *s);
    s->ssrc = ssrc;
    init_seq(s, seq);
    s->max_seq = (seq - 1) & 0xFFFF;
    s->probation = MIN_SEQUENTIAL;
}

/* 0 VALID, 1 PROBATION, 2 INVALID */
static int update_seq(struct ccr_src *s, int64_t seq) {
    int64_t udelta = (seq - s->max_seq) & 0xFFFF;
    if (s->probation) {
        if (seq == ((s->max_seq + 1) & 0xFFFF)) {
            s->probation -= 1;
            s->max_seq = seq;
            if (s->probation == 0) {
                init_seq(s, seq);
                s->received += 1;
                return 0;
            }
        } else {
            s->probation = MIN_SEQUENTIAL - 1;
            s->max_seq = seq;
        }
        return 1;
    }
    if (udelta < MAX_DROPOUT) {
        if (seq < s->max_seq) s->cycles += RTP_SEQ_MOD;
        s->max_seq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
        if (seq != s->bad_seq) {
            s->bad_seq = (seq + 1) & 0xFFFF;
            return 2;
        }
        init_seq(s, seq);
    }
    s->received += 1;
    return 0;
}

static void update_jitter(struct ccr_src *s, int64_t ts, double now) {
    int64_t arrival = (int64_t)(now * 8000);
    int64_t transit = (arrival - ts) & 0xFFFFFFFF;
    if (s->has_transit) {
        int64_t d = (transit - s->transit) & 0xFFFFFFFF;
        if (d & 0x80000000) d = 0x100000000LL - d;
        s->jitter += ((double)d - s->jitter) / 16.0;
    }
    s->transit = transit;
    s->has_transit = 1;
}

/* RtpStats.receive: find or make the source (evicting the oldest non-active one when full). */
static void stats_receive(struct ccr_leg *l, const uint8_t *p, size_t len, double now) {
    int64_t seq = (p[2] << 8) | p[3];
    int64_t ts = ((int64_t)p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7];
    int64_t ssrc = ((int64_t)p[8] << 24) | (p[9] << 16) | (p[10] << 8) | p[11];
    int k, idx = -1, free_idx = -1;
    for (k = 0; k < CCR_MAX_SRC; k++) {
        if (l->src[k].ssrc == ssrc) { idx = k; break; }
        if (l->src[k].ssrc < 0 && free_idx < 0) free_idx = k;
    }
    if (idx < 0) {
        if (free_idx < 0) free_idx = (l->active == 0) ? 1 : 0;
        idx = free_idx;
        first(&l->src[idx], ssrc, seq);
    }
    struct ccr_src *s = &l->src[idx];
    if (update_seq(s, seq) != 0) return;
    update_jitter(s, ts, now);
    s->octets += (int64_t)len - 12;
    l->active = idx;
}

/* Stand-alone entry for tests: the statistics of one packet at time ``now``. */
void ccr_stats_feed(struct ccr_leg *l, const uint8_t *p, size_t len, double now) {
    stats_receive(l, p, len, now);
}

/* -- the relay thread ------------------------------------------------------------------------- */

static double monotonic(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void send_batch(struct side *to, struct mmsghdr *out, int n) {
    int done = 0, tries = 0;
    while (done < n) {
        int r = sendmmsg(to->fd, out + done, (unsigned)(n - done), MSG_DONTWAIT);
        if (r > 0) {
            to->leg.packets_out += r;
            done += r;
            continue;
        }
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && tries++ < 2) {
            struct pollfd pfd = {to->fd, POLLOUT, 0};
            poll(&pfd, 1, 5);
            continue;
        }
        to->leg.errors += 1; /* e.g. ECONNREFUSED from an earlier ICMP: drop this one */
        done += 1;
    }
}

static void relay_side(struct ccr *r, struct pair *p, int k) {
    struct side *from = &p->s[k], *to = &p->s[k ^ 1];
    struct mmsghdr in[BATCH], out[BATCH];
    struct iovec iov[BATCH], oiov[BATCH];
    struct sockaddr_storage src[BATCH];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = r->bufs[i];
            iov[i].iov_len = PKT_MAX;
            memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
            in[i].msg_hdr.msg_iov = &iov[i];
            in[i].msg_hdr.msg_iovlen = 1;
            in[i].msg_hdr.msg_name = &src[i];
            in[i].msg_hdr.msg_namelen = sizeof src[i];
        }
        int n = recvmmsg(from->fd, in, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            from->leg.errors += 1; /* ICMP port unreachable reported on this socket */
            continue;
        }
        if (n == 0) return;
        double now = monotonic();
        int nout = 0;
        for (int i = 0; i < n; i++) {
            const uint8_t *d = r->bufs[i];
            size_t len = in[i].msg_len;
            if (len < 12) continue;
            if (!from->leg.latched) {
                if ((d[0] >> 6) != 2 || (d[1] >= 192 && d[1] <= 223)) continue;
                memcpy(&from->remote, &src[i], sizeof src[i]);
                from->remote_len = in[i].msg_hdr.msg_namelen;
                from->leg.latched = 1;
                from->leg.has_remote = 1;
            }
            from->leg.packets_in += 1;
            if (from->leg.has_stats) stats_receive(&from->leg, d, len, now);
            if ((d[1] & 0x7F) == from->leg.te_pt && r->event_fd >= 0) {
                uint8_t msg[PKT_MAX + 4];
                int32_t id = (int32_t)from->leg.id;
                memcpy(msg, &id, 4);
                memcpy(msg + 4, d, len);
                send(r->event_fd, msg, len + 4, MSG_DONTWAIT);
            }
            if (to->leg.has_remote) {
                oiov[nout].iov_base = (void *)d;
                oiov[nout].iov_len = len;
                memset(&out[nout].msg_hdr, 0, sizeof out[nout].msg_hdr);
                out[nout].msg_hdr.msg_iov = &oiov[nout];
                out[nout].msg_hdr.msg_iovlen = 1;
                out[nout].msg_hdr.msg_name = &to->remote;
                out[nout].msg_hdr.msg_namelen = to->remote_len;
                nout++;
            }
        }
        if (nout) send_batch(to, out, nout);
        r->packets += (uint64_t)n;
        if (n < BATCH) return;
    }
}

static void *run(void *arg) {
    struct ccr *r = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(r->epfd, evs, 64, -1);
        pthread_mutex_lock(&r->mu);
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == WAKE_TAG) {
                uint64_t v;
                if (read(r->wakefd, &v, sizeof v) < 0) { /* nothing to do */ }
                continue;
            }
            uint32_t gen = (uint32_t)(tag >> 32);
            int slot = (int)((tag & 0xFFFFFFFF) >> 1), k = (int)(tag & 1);
            if (slot >= r->npairs) continue;
            struct pair *p = &r->pairs[slot];
            if (!p->used || p->gen != gen) continue; /* detached since epoll_wait returned */
            relay_side(r, p, k);
        }
        pthread_mutex_unlock(&r->mu);
        if (r->coalesce_ns > 0 && n > 0 && n < 64) {
            struct timespec d = {0, r->coalesce_ns};
            nanosleep(&d, NULL);
        }
    }
}

/* -- the API Python calls (through ctypes) ---------------------------------------------------- */

/* ``coalesce_us``: after an epoll batch of fewer than 64 ready sockets, sleep this long so the
 * next batch is fuller (fewer wake-ups per packet under load; at most that much added delay). */
struct ccr *ccr_new(int event_fd, int coalesce_us) {
    struct ccr *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->event_fd = event_fd;
    r->coalesce_ns = coalesce_us > 0 && coalesce_us < 100000 ? coalesce_us * 1000L : 0;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->epfd < 0 || r->wakefd < 0) goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev) < 0) goto fail;
    if (pthread_create(&r->thread, NULL, run, r) != 0) goto fail;
    return r;
fail:
    if (r->epfd >= 0) close(r->epfd);
    if (r->wakefd >= 0) close(r->wakefd);
    free(r);
    return NULL;
}

void ccr_free(struct ccr *r) {
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_mutex_unlock(&r->mu);
    uint64_t one = 1;
    if (write(r->wakefd, &one, sizeof one) < 0) { /* the thread is woken anyway below */ }
    pthread_join(r->thread, NULL);
    close(r->epfd);
    close(r->wakefd);
    free(r->pairs);
    free(r);
}

static int side_in(struct side *s, int fd, const struct ccr_leg *l) {
    s->fd = fd;
    s->leg = *l;
    s->leg.packets_in = s->leg.packets_out = s->leg.errors = 0;
    s->remote_len = 0;
    if (l->has_remote && to_sockaddr(l, &s->remote, &s->remote_len) != 0) return -1;
    return 0;
}

/* Take over a bridged pair; returns its handle (>= 0) or -1. */
int ccr_attach(struct ccr *r, int fd_a, int fd_b, const struct ccr_leg *a, const struct ccr_leg *b) {
    pthread_mutex_lock(&r->mu);
    int slot = -1;
    for (int i = 0; i < r->npairs; i++)
        if (!r->pairs[i].used) { slot = i; break; }
    if (slot < 0) {
        int n = r->npairs ? 2 * r->npairs : 64;
        struct pair *np = realloc(r->pairs, (size_t)n * sizeof *np);
        if (np == NULL) { pthread_mutex_unlock(&r->mu); return -1; }
        memset(np + r->npairs, 0, (size_t)(n - r->npairs) * sizeof *np);
        slot = r->npairs;
        r->pairs = np;
        r->npairs = n;
    }
    struct pair *p = &r->pairs[slot];
    if (side_in(&p->s[0], fd_a, a) != 0 || side_in(&p->s[1], fd_b, b) != 0) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    p->gen += 1;
    p->used = 1;
    for (int k = 0; k < 2; k++) {
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.u64 = ((uint64_t)p->gen << 32) | ((uint64_t)slot << 1) | (uint64_t)k;
        if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, p->s[k].fd, &ev) < 0) {
            if (k == 1) epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->s[0].fd, NULL);
            p->used = 0;
            pthread_mutex_unlock(&r->mu);
            return -1;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return slot;
}

static void side_out(struct side *s, struct ccr_leg *l) {
    *l = s->leg;
    if (s->leg.has_remote && s->remote_len) from_sockaddr(l, &s->remote);
    s->leg.packets_in = s->leg.packets_out = s->leg.errors = 0;
}

static int valid(struct ccr *r, int slot) {
    return slot >= 0 && slot < r->npairs && r->pairs[slot].used;
}

/* Give a pair back: its state goes to a and b; the thread does not touch its sockets again. */
int ccr_detach(struct ccr *r, int slot, struct ccr_leg *a, struct ccr_leg *b) {
    pthread_mutex_lock(&r->mu);
    if (!valid(r, slot)) { pthread_mutex_unlock(&r->mu); return -1; }
    struct pair *p = &r->pairs[slot];
    for (int k = 0; k < 2; k++) epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->s[k].fd, NULL);
    side_out(&p->s[0], a);
    side_out(&p->s[1], b);
    p->used = 0;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* With ccr_lock held: read one side's state (counters are deltas, reset here). */
int ccr_get(struct ccr *r, int slot, int k, struct ccr_leg *l) {
    if (!valid(r, slot)) return -1;
    side_out(&r->pairs[slot].s[k & 1], l);
    return 0;
}

/* With ccr_lock held: write back what an RTCP report changed (A.3 priors per SSRC). */
int ccr_set_priors(struct ccr *r, int slot, int k, const struct ccr_leg *l) {
    if (!valid(r, slot)) return -1;
    struct ccr_leg *own = &r->pairs[slot].s[k & 1].leg;
    for (int i = 0; i < CCR_MAX_SRC; i++)
        for (int j = 0; j < CCR_MAX_SRC; j++)
            if (own->src[i].ssrc >= 0 && own->src[i].ssrc == l->src[j].ssrc) {
                own->src[i].expected_prior = l->src[j].expected_prior;
                own->src[i].received_prior = l->src[j].received_prior;
            }
    return 0;
}

void ccr_lock(struct ccr *r) { pthread_mutex_lock(&r->mu); }
void ccr_unlock(struct ccr *r) { pthread_mutex_unlock(&r->mu); }
int ccr_max_src(void) { return CCR_MAX_SRC; }
int ccr_leg_size(void) { return (int)sizeof(struct ccr_leg); }
uint64_t ccr_packets(struct ccr *r) { return r->packets; }
