/** A minimal typed event emitter (no Node `events` in the browser). */
export class Emitter<Events extends object> {
  /** `onListenerError`: told of a listener that threw (the others still run). */
  constructor(private readonly onListenerError: (event: keyof Events, error: unknown) => void = () => undefined) {}

  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (e: Events[K]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (e: never) => void);
    this.listeners.set(event, set);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: (e: Events[K]) => void): void {
    this.listeners.get(event)?.delete(listener as (e: never) => void);
  }

  /** A throwing listener does not stop the others or the client; it is reported. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (e: Events[K]) => void)(payload);
      } catch (error) {
        // A listener's bug must not break a sync round, nor go unnoticed.
        this.onListenerError(event, error);
      }
    }
  }
}
