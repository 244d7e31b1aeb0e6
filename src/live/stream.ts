import type { GraphQLError } from 'graphql';
import type { Loaders } from '../loaders';
import { liveError } from './hub';

/** One event of a subscription: its value and the batch's shared loaders, or the error that ends it. */
export type LiveItem<T> = { value: T; loaders: Loaders; receivedAt: number } | { error: GraphQLError };

/**
 * A subscription's source stream: the hub pushes, graphql-js pulls. Bounded:
 * a subscription whose events pile up past `limits.maxQueued` (its socket
 * cannot keep up: graphql-ws awaits each send) is a slow consumer, handed to
 * `limits.onOverflow` (the transport closes the connection), instead of
 * being buffered without limit. An
 * error item is the last one. `return()` (the client completed, or the
 * socket closed) runs `onEnd` once, which takes the subscriber out of the hub.
 */
export class LiveStream<T> implements AsyncIterableIterator<LiveItem<T>> {
  private readonly queue: LiveItem<T>[] = [];
  private waiting: ((result: IteratorResult<LiveItem<T>>) => void) | undefined;
  private ended = false;
  private onEnd: (() => void) | undefined;

  constructor(private readonly limits: { maxQueued: number; onOverflow: () => void }) {}

  setOnEnd(onEnd: () => void): void {
    this.onEnd = onEnd;
  }

  push(item: LiveItem<T>): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: item, done: false });
      return;
    }
    if (this.queue.length >= this.limits.maxQueued) {
      this.fail(liveError('SLOW_CONSUMER', 'Events arrived faster than they could be delivered; subscribe again'));
      this.limits.onOverflow();
      return;
    }
    this.queue.push(item);
  }

  /** Ends the stream after delivering `error` (queued events before it are dropped: the subscription is over). */
  fail(error: GraphQLError): void {
    if (this.ended) return;
    this.queue.length = 0;
    this.push({ error });
    this.finish();
  }

  next(): Promise<IteratorResult<LiveItem<T>>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<LiveItem<T>>> {
    this.queue.length = 0;
    this.finish();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.();
    this.onEnd = undefined;
  }
}
