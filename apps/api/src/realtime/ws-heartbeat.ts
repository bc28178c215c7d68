/** What the heartbeat needs of a socket (the `ws` WebSocket has all of it). */
export interface HeartbeatSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong' | 'close', listener: () => void): unknown;
}

/**
 * Protocol-level ping every `intervalMs`; a peer that has not answered the previous ping by
 * the next one is gone without a close (a phone that lost its network, a NAT that dropped the
 * mapping) and is terminated, so its stream stops counting toward the per-user limit and its
 * memory is freed. Browsers and `ws` answer pings by themselves: clients do nothing.
 */
export function keepAlive(socket: HeartbeatSocket, intervalMs: number): void {
  let answered = true;
  socket.on('pong', () => (answered = true));
  const timer = setInterval(() => {
    if (!answered) {
      clearInterval(timer);
      socket.terminate();
      return;
    }
    answered = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  socket.on('close', () => clearInterval(timer));
}
