// Shared event stream client: a WebSocket to /api/v1/events/ws that reconnects by itself with
// a growing back-off and resumes with ?since=<last seq seen>, so no event is lost or repeated.
//
//   const stream = connectEvents((ev) => ..., {onStatus: (s) => ...});
//   stream.close();
//
// onEvent gets each event {seq, type, at, call_id, agent_id, payload} once, in seq order.
// onStatus gets 'open' (first connection is live), 'resync' (a reconnection finished its
// replay: re-fetch your state, something may have changed meanwhile), 'closed' (connection
// lost, a retry is scheduled) or 'unauthenticated' (no session: the stream stops).

const PATH = '/api/v1/events/ws';

export function connectEvents(onEvent, options = {}) {
  const onStatus = options.onStatus || (() => {});
  const minDelay = options.minDelay || 500;
  const maxDelay = options.maxDelay || 10000;
  let lastSeq = options.since ?? null;
  let delay = minDelay;
  let socket = null;
  let timer = null;
  let stopped = false;
  let connections = 0;

  function url() {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const since = lastSeq === null ? '' : `?since=${lastSeq}`;
    return `${proto}//${window.location.host}${PATH}${since}`;
  }

  function schedule() {
    if (stopped || timer !== null) return;
    timer = window.setTimeout(() => {
      timer = null;
      open();
    }, delay);
    delay = Math.min(maxDelay, delay * 2);
  }

  function open() {
    if (stopped) return;
    const ws = new WebSocket(url());
    socket = ws;
    const resumed = connections > 0;
    connections += 1;
    ws.onmessage = (msg) => {
      let data;
      try { data = JSON.parse(msg.data); } catch (_) { return; }
      if (data.hello) {
        delay = minDelay;
        if (lastSeq === null || data.hello.last_seq > lastSeq) lastSeq = data.hello.last_seq;
        onStatus(resumed ? 'resync' : 'open');
        return;
      }
      if (data.keepalive) {
        if (lastSeq === null || data.keepalive.last_seq > lastSeq) {
          lastSeq = data.keepalive.last_seq;
        }
        return;
      }
      if (data.error) return;
      if (typeof data.seq === 'number') {
        if (lastSeq !== null && data.seq <= lastSeq) return;
        lastSeq = data.seq;
        try {
          onEvent(data);
        } catch (err) {
          console.error('event handler failed', err);
        }
      }
    };
    ws.onclose = (ev) => {
      if (socket === ws) socket = null;
      if (stopped) return;
      if (ev.code === 4401) {
        stopped = true;
        onStatus('unauthenticated');
        return;
      }
      onStatus('closed');
      schedule();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  open();
  return {
    close() {
      stopped = true;
      if (timer !== null) window.clearTimeout(timer);
      if (socket) socket.close(1000, 'bye');
    },
    // For tests and pages: drop the connection as a network failure would (it reconnects).
    drop() {
      if (socket) socket.close(4000, 'dropped by client');
    },
    get lastSeq() {
      return lastSeq;
    },
  };
}
