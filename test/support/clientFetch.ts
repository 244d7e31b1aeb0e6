import { readFileSync } from 'node:fs';
import path from 'node:path';

/** What a client library put on the wire. */
export interface Sent {
  method: string;
  url: string;
  headers: Headers;
  body: string | undefined;
}

/**
 * The global fetch, with each request noted on its way out: the client
 * library's own request goes to the real server unchanged, and a spec can say
 * what the library sent (method, query string, headers, body).
 */
export function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    sent.push({ method: request.method, url: request.url, headers: request.headers, body: typeof init?.body === 'string' ? init.body : undefined });
    return fetch(request);
  };
}

const OPERATIONS = path.join(__dirname, '..', 'clients', 'operations');

/** The text of test/clients/operations/<name>.graphql, as a front end keeps it. */
export function operation(name: string): string {
  return readFileSync(path.join(OPERATIONS, `${name}.graphql`), 'utf8');
}
