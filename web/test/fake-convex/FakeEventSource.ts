/** EventSource for jsdom (which has none): records every instance so a test can drive it. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  onopen: (() => void) | null = null;
  onmessage: ((e: MessageEvent<string>) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  private listeners = new Map<string, (() => void)[]>();

  constructor(url: string | URL) {
    this.url = String(url);
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, cb: () => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), cb]);
  }

  close() {
    this.closed = true;
  }

  open() {
    this.onopen?.();
  }

  send(id: string, data: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(data), lastEventId: id }));
  }

  emit(type: string) {
    this.listeners.get(type)?.forEach((cb) => cb());
  }

  fail() {
    this.onerror?.();
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error("no EventSource was opened");
    return last;
  }
}
