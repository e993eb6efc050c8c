/* RTP load generator for bench/media.py: N loopback sockets, each sending one 20 ms G.711
 * packet (172 bytes) per tick to its destination port, phase-spread over the tick, and
 * measuring what comes back (count, RFC 3550 A.8 interarrival jitter, max gap; RTCP that
 * lands on a socket is ignored).
 * Protocol on stdin/stdout:  in "N"  -> out "p1 p2 ... pN"  -> in N lines "dest_port pt"
 * (0 = receive only) -> in "go MS" -> out one stats line per socket and a "done" line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd, dest, pt;
    uint16_t seq;
    uint32_t ts;
    long sent, recvd;
    double jitter, last_transit, max_gap, last_arrival;
    int have_last;
} Sock;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void drain(Sock *s) {
    unsigned char buf[2048];
    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        if (n < 12) return;
        if (buf[1] >= 192 && buf[1] <= 223) continue; /* RTCP (RFC 5761 §4): not counted */
        double arr = now_s();
        uint32_t ts = ((uint32_t)buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7];
        double transit = arr - ts / 8000.0;
        if (s->have_last) {
            double d = transit - s->last_transit;
            if (d < 0) d = -d;
            if (d < 1.0) s->jitter += (d - s->jitter) / 16.0; /* RFC 3550 A.8 */
            double gap = arr - s->last_arrival;
            if (gap > s->max_gap) s->max_gap = gap;
        }
        s->last_transit = transit;
        s->last_arrival = arr;
        s->have_last = 1;
        s->recvd++;
    }
}

int main(void) {
    int n;
    if (scanf("%d", &n) != 1 || n <= 0) return 2;
    Sock *socks = calloc(n, sizeof(Sock));
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        Sock *s = &socks[i];
        s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int big = 1 << 20;
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
        socklen_t len = sizeof a;
        getsockname(s->fd, (struct sockaddr *)&a, &len);
        printf("%d%c", ntohs(a.sin_port), i + 1 == n ? '\n' : ' ');
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
        s->seq = rand();
        s->ts = 0;
    }
    fflush(stdout);
    for (int i = 0; i < n; i++)
        if (scanf("%d %d", &socks[i].dest, &socks[i].pt) != 2) return 2;
    int ms;
    if (scanf(" go %d", &ms) != 1) return 2;
    unsigned char pkt[172];
    memset(pkt, 0xd5, sizeof pkt);
    double start = now_s();
    long ticks = ms / 20;
    long late = 0; /* slots sent more than one tick behind their due time */
    const int slots = 20; /* one slot per millisecond: calls are phase-spread over the tick */
    struct epoll_event evs[256];
    for (long t = 0; t < ticks; t++) {
        for (int slot = 0; slot < slots; slot++) {
            double due = start + t * 0.020 + slot * 0.001;
            /* Receive until the slot is due. Late (behind schedule), still drain what is ready
             * (timeout 0) before sending: a generator that only drained while early never read
             * its sockets once overloaded and reported buffer overflow as relay loss. */
            for (;;) {
                double wait = due - now_s();
                int k = epoll_wait(ep, evs, 256, wait <= 0 ? 0 : wait < 0.001 ? 1 : (int)(wait * 1000));
                for (int e = 0; e < k; e++) drain(&socks[evs[e].data.u32]);
                if (k < 256 && due <= now_s()) break;
            }
            if (now_s() - due > 0.020) late++;
            uint32_t ts_now = (uint32_t)((now_s() - start) * 8000.0);
            for (int i = slot; i < n; i += slots) {
                Sock *s = &socks[i];
                if (!s->dest) continue;
                pkt[0] = 0x80; pkt[1] = s->pt;
                pkt[2] = s->seq >> 8; pkt[3] = s->seq & 0xff;
                uint32_t ts = (uint32_t)(t * 160 + slot * 8); /* media time, not send time */
                (void)ts_now;
                s->ts = ts + (uint32_t)(start * 8000.0);
                pkt[4] = s->ts >> 24; pkt[5] = s->ts >> 16; pkt[6] = s->ts >> 8; pkt[7] = s->ts;
                pkt[8] = 0; pkt[9] = 0; pkt[10] = i >> 8; pkt[11] = i;
                struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(s->dest),
                                        .sin_addr.s_addr = htonl(0x7f000001)};
                if (sendto(s->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&d, sizeof d) > 0)
                    s->sent++;
                s->seq++;
            }
        }
    }
    double end = now_s() + 0.5;
    while (now_s() < end) {
        int k = epoll_wait(ep, evs, 256, 50);
        for (int e = 0; e < k; e++) drain(&socks[evs[e].data.u32]);
    }
    for (int i = 0; i < n; i++)
        printf("%ld %ld %.6f %.6f\n", socks[i].sent, socks[i].recvd, socks[i].jitter,
               socks[i].max_gap);
    printf("done %.3f late_slots %ld\n", now_s() - start, late);
    return 0;
}
