import { EventEmitter } from 'node:events';
import { keepAlive } from './ws-heartbeat';

class FakeSocket extends EventEmitter {
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.emit('close');
  }
}

describe('keepAlive', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('pings every interval while the peer answers', () => {
    const socket = new FakeSocket();
    keepAlive(socket, 1000);
    for (let i = 0; i < 5; i++) {
      jest.advanceTimersByTime(1000);
      socket.emit('pong');
    }
    expect(socket.pings).toBe(5);
    expect(socket.terminated).toBe(false);
  });

  it('terminates a peer that did not answer the previous ping, and stops', () => {
    const socket = new FakeSocket();
    keepAlive(socket, 1000);
    jest.advanceTimersByTime(1000);
    expect(socket.pings).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(socket.terminated).toBe(true);
    jest.advanceTimersByTime(5000);
    expect(socket.pings).toBe(1);
  });

  it('stops pinging once the socket closed', () => {
    const socket = new FakeSocket();
    keepAlive(socket, 1000);
    socket.emit('close');
    jest.advanceTimersByTime(5000);
    expect(socket.pings).toBe(0);
  });
});
