import { PokeStream, StreamMessage } from './poke-stream';
import { FAMILY_POKE_INTERVAL_MS, StreamHub } from './stream-hub';
import { CloseCode } from './stream-rules';

class RecordingStream extends PokeStream {
  written: string[] = [];
  ended?: CloseCode;
  constructor(userId: string, familyId: string, deviceId: string) {
    super({ userId, familyId, deviceId, transport: 'ws' }, () => undefined);
  }
  protected write(message: StreamMessage, position: string, done: () => void): void {
    this.written.push(`${message} ${position}`);
    done();
  }
  protected end(code: CloseCode): void {
    this.ended = code;
  }
}

const logger = { info: jest.fn() };
const metrics = { opened: jest.fn(), closed: jest.fn(), poked: jest.fn() };
const hubWith = (maxStreamsPerUser = 20) =>
  new StreamHub(metrics as never, logger as never, { get: () => ({ maxStreamsPerUser }) } as never);
const ready = (s: RecordingStream) => (s.ready('0'), s);

describe('StreamHub', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('pokes the family at once, then at most once per interval with the latest position; never the device of that latest commit', () => {
    const hub = hubWith();
    const phone = ready(new RecordingStream('alice', 'f1', 'phone'));
    const tablet = ready(new RecordingStream('bob', 'f1', 'tablet'));
    const stranger = ready(new RecordingStream('olga', 'f2', 'phone'));
    [phone, tablet, stranger].forEach((s) => hub.open(s));

    hub.commit('f1', '1', 'phone');
    expect(phone.written).toEqual(['ready 0']);
    expect(tablet.written).toEqual(['ready 0', 'poke 1']);
    hub.commit('f1', '2', 'phone');
    hub.commit('f1', '3', 'tablet');
    expect(tablet.written).toEqual(['ready 0', 'poke 1']);
    jest.advanceTimersByTime(FAMILY_POKE_INTERVAL_MS);
    // The tablet's own response carried everything up to 3; the phone's did not.
    expect(phone.written).toEqual(['ready 0', 'poke 3']);
    expect(tablet.written).toEqual(['ready 0', 'poke 1']);
    expect(stranger.written).toEqual(['ready 0']);
  });

  it('limits streams per user, and frees the slot when one closes', () => {
    const hub = hubWith(2);
    const [one, two, three] = ['a', 'b', 'c'].map((d) => new RecordingStream('alice', 'f1', d));
    expect(hub.open(one)).toBe(true);
    expect(hub.open(two)).toBe(true);
    expect(hub.open(three)).toBe(false);
    expect(hub.open(new RecordingStream('bob', 'f1', 'x'))).toBe(true);
    hub.closed(one, 1000);
    expect(hub.open(three)).toBe(true);
  });

  it('closes only the removed member’s streams of that family with 4403', () => {
    const hub = hubWith();
    const bobF1 = new RecordingStream('bob', 'f1', 'p');
    const bobF2 = new RecordingStream('bob', 'f2', 'p');
    const alice = new RecordingStream('alice', 'f1', 'p');
    [bobF1, bobF2, alice].forEach((s) => hub.open(s));
    hub.removeMember('f1', 'bob');
    expect([bobF1.ended, bobF2.ended, alice.ended]).toEqual([CloseCode.Forbidden, undefined, undefined]);
  });
});
