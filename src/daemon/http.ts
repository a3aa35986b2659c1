/**
 * The agent's HTTP server (node:http): limits that keep one client from starving the others (body
 * size, header and request deadlines, a connection cap), every refusal a JSON error, and a stop
 * that lets the requests in flight finish.
 * @module
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorMessage } from '../errors.js';
import { type ApiErrorCode, type ErrorAnswer, MAX_BODY_BYTES, statusOf } from '../client/api.js';
import type { AgentLog } from './log.js';

export interface ApiRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The JSON body, parsed; undefined when there was none. */
  body: unknown;
  /** True once the client has closed its connection: an answer would reach nobody. */
  clientGone: () => boolean;
}

export interface ApiAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export type ApiHandler = (req: ApiRequest) => Promise<ApiAnswer>;

export interface ServerLimits {
  maxBodyBytes: number;
  /** To receive the request line and headers. */
  headersTimeoutMs: number;
  /** To receive the whole request. */
  requestTimeoutMs: number;
  /** An idle connection between requests. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
}

/**
 * Every client is root (the socket is 0600) and the requests are small; the limits guard against a
 * broken client holding the agent's descriptors or memory, not against strangers.
 */
export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: MAX_BODY_BYTES,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
};

/** A request refused before it reached a handler: its status comes from its code. */
export class RequestError extends Error {
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
  }
}

/** A JSON error answer. */
export function errorAnswer(code: ApiErrorCode, message: string): ApiAnswer {
  const body: ErrorAnswer = { error: message, code };
  return { status: statusOf(code), body: JSON.stringify(body) };
}

/**
 * The body as JSON, refused past `max` bytes (413) or when it does not parse (400). The rest of a
 * body too large is read and dropped before the 413 is sent: closing a connection whose client is
 * still writing makes the client's write fail, and it drops the answer unread. A body that never
 * ends is cut by the request deadline.
 */
function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): void => {
      req.once('end', () => { reject(new RequestError('CTNET_TOO_LARGE', `request body is larger than the ${max} bytes allowed`)); });
      req.resume();
    };
    if (Number(req.headers['content-length'] ?? 0) > max) {
      tooLarge();
      return;
    }
    let chunks: Buffer[] | undefined = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (chunks === undefined) return;
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      chunks = undefined;
      tooLarge();
    });
    req.on('end', () => {
      if (chunks === undefined) return;
      if (size === 0) {
        resolve(undefined);
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch (err) {
        reject(new RequestError('CTNET_BAD_REQUEST', `request body is not JSON: ${errorMessage(err)}`));
      }
    });
    // The client went away before its body ended: nothing to answer.
    req.on('error', reject);
    req.on('close', () => { reject(new Error('the client closed its connection before its request ended')); });
  });
}

function send(res: ServerResponse, answer: ApiAnswer): void {
  if (res.destroyed) return;
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body), ...answer.headers });
  res.end(answer.body);
}

/** An answer written straight to a connection the HTTP parser gave up on. */
function rawAnswer(socket: Socket, answer: ApiAnswer): void {
  const head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(answer.body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + answer.body);
}

export class ApiServer {
  readonly server: Server;
  readonly #handler: ApiHandler;
  readonly #log: AgentLog;
  readonly #limits: ServerLimits;
  #inFlight = 0;
  #stopping = false;
  #drained: (() => void) | undefined;

  constructor(handler: ApiHandler, log: AgentLog, limits: ServerLimits = DEFAULT_LIMITS) {
    this.#handler = handler;
    this.#log = log;
    this.#limits = limits;
    this.server = createServer({
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Check the deadlines every second rather than every 30 s, Node's default.
      connectionsCheckingInterval: 1_000,
    });
    this.server.maxConnections = limits.maxConnections;
    // node:http's deadlines start with a request's first byte: a connection that never sends one
    // would be kept forever. Idle that long before its first request, it is closed (node:http
    // destroys a socket whose timeout nobody handles); the request then runs under the deadlines.
    this.server.on('connection', (socket: Socket) => {
      socket.setTimeout(limits.headersTimeoutMs);
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      req.socket.setTimeout(0);
      void this.#serve(req, res);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      rawAnswer(socket, timedOut ? errorAnswer('CTNET_REQUEST_TIMEOUT', 'the request did not arrive in time') : errorAnswer('CTNET_BAD_REQUEST', `malformed HTTP request: ${err.message}`));
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#stopping) {
      send(res, { ...errorAnswer('CTNET_MISDIRECTED', 'the agent is stopping'), headers: { connection: 'close' } });
      return;
    }
    const client = { gone: false };
    // Before the answer is written, the response closes only with its connection.
    res.once('close', () => {
      client.gone = true;
    });
    this.#inFlight++;
    try {
      const body = await readJson(req, this.#limits.maxBodyBytes);
      const started = performance.now();
      const answer = await this.#handler({
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://ctnet'),
        headers: req.headers,
        body,
        // The socket's end is heard at once (a client that half-closes gets no answer from node:http
        // either); the response's close only once the connection is torn down.
        clientGone: () => client.gone || req.socket.readableEnded || req.socket.destroyed,
      });
      // The agent's own time for the call (HTTP's Server-Timing), so a client can tell it from the socket's and its own.
      const timing = { 'server-timing': `ctnet;dur=${(performance.now() - started).toFixed(2)}` };
      // Stopping may have begun while the handler ran: the connection then goes with the answer.
      send(res, { ...answer, headers: { ...answer.headers, ...timing, ...(this.#isStopping() ? { connection: 'close' } : {}) } });
    } catch (err) {
      if (err instanceof RequestError) {
        send(res, { ...errorAnswer(err.code, err.message), headers: { connection: 'close' } });
      } else if (!client.gone && !req.socket.destroyed) {
        // A defect (a client that went away mid-body needs no answer): nothing was changed for it.
        this.#log.write('request-failed', `${req.method ?? ''} ${req.url ?? ''} failed: ${errorMessage(err)}`);
        send(res, errorAnswer('CTNET_INTERNAL', errorMessage(err)));
      }
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  #isStopping(): boolean {
    return this.#stopping;
  }

  /**
   * Stop accepting connections, answer 421 to requests that still come on open ones, wait for the
   * requests in flight, then close every connection.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.server.closeAllConnections();
    await closed;
  }
}
