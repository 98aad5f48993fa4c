// The Linli API client: typed paths, bodies and answers from the generated schema, a
// pluggable transport (wx.request in the mini-program, fetch in Node), WeChat login with
// one refresh of an expired access token, an Idempotency-Key on every value-moving POST
// (reused when the request is retried), and problem+json turned into a typed LinliError.

import type { components, paths } from "./schema.js";
import { KEYED_OPERATIONS } from "./keyed.js";
import type { Transport } from "./transport.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
/** Every stable error code the server may answer with. */
export type ProblemCode = Problem["code"];

type Method = "get" | "post" | "put" | "delete";

/** The paths that have an operation for `M`. */
export type PathsFor<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: infer O } ? ([O] extends [never] ? never : P) : never;
}[keyof paths];

type Operation<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;
type PathParams<O> = O extends { parameters: { path: infer T } } ? T : never;
type QueryParams<O> = O extends { parameters: { query?: infer T } } ? T : never;
type RequiredBody<O> = O extends { requestBody: { content: { "application/json": infer T } } } ? T : never;
type OptionalBody<O> = O extends { requestBody?: { content: { "application/json": infer T } } } ? T : never;
type SuccessOf<R> = R extends { 200: { content: { "application/json": infer T } } }
  ? T
  : R extends { 201: { content: { "application/json": infer T } } }
    ? T
    : R extends { 204: unknown }
      ? undefined
      : unknown;

/** What a call answers on success: the operation's 200/201 body (`undefined` for 204). */
export type Answer<O> = O extends { responses: infer R } ? SuccessOf<R> : never;

/** A call's options, shaped by its operation: path parameters, query and body where it has them. */
export type Options<O> = ([PathParams<O>] extends [never] ? { path?: undefined } : { path: PathParams<O> }) &
  ([QueryParams<O>] extends [never] | [undefined] ? { query?: undefined } : { query?: QueryParams<O> }) &
  ([RequiredBody<O>] extends [never]
    ? [OptionalBody<O>] extends [never]
      ? { body?: undefined }
      : { body?: OptionalBody<O> }
    : { body: RequiredBody<O> }) & {
    /** Overrides the key the client would make for a value-moving POST. */
    idempotencyKey?: string;
  };

type Args<O> = {} extends Options<O> ? [options?: Options<O>] : [options: Options<O>];

/** A refused request: the problem document's fields, `code` typed. */
export class LinliError extends Error {
  readonly status: number;
  readonly code: ProblemCode | "network_error" | "unexpected_response";
  readonly detail: string;
  readonly errors: { field: string; message: string }[];
  /** From `Retry-After` on 429 and 503. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    code: LinliError["code"],
    detail: string,
    errors: { field: string; message: string }[] = [],
    retryAfterSeconds?: number,
  ) {
    super(`${code}: ${detail}`);
    this.name = "LinliError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = errors;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** Where the tokens live between launches: `wx.setStorageSync` in the mini-program. */
export interface TokenStore {
  load(): Tokens | undefined;
  save(tokens: Tokens | undefined): void;
}

export function memoryTokenStore(): TokenStore {
  let kept: Tokens | undefined;
  return {
    load: () => kept,
    save: (tokens) => {
      kept = tokens;
    },
  };
}

export interface ClientOptions {
  /** e.g. `https://linli.example.cn`, without a trailing slash. */
  baseUrl: string;
  transport: Transport;
  tokens?: TokenStore;
  /** Times a request is sent again after a network failure or a 502/503/504 (default 2). */
  retries?: number;
  /** Makes Idempotency-Keys (default: a random UUID). */
  newKey?: () => string;
  /** Waits between retries (default: setTimeout); tests shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRIED_STATUSES = new Set([502, 503, 504]);

export class LinliClient {
  private readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly tokens: TokenStore;
  private readonly retries: number;
  private readonly newKey: () => string;
  private readonly sleep: (ms: number) => Promise<void>;
  private refreshing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.transport = options.transport;
    this.tokens = options.tokens ?? memoryTokenStore();
    this.retries = options.retries ?? 2;
    this.newKey = options.newKey ?? randomKey;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Logs in with the code of `wx.login()` and keeps the tokens. */
  async loginWithWechat(code: string): Promise<Schemas["LoginResponse"]> {
    const login = await this.post("/api/v1/auth/wechat-login", { body: { code } });
    this.keep(login);
    return login;
  }

  /** Logs a staff member in (the dashboard's login) and keeps the tokens. */
  async loginStaff(username: string, password: string): Promise<Schemas["LoginResponse"]> {
    const login = await this.post("/api/v1/auth/staff-login", { body: { username, password } });
    this.keep(login);
    return login;
  }

  /** Ends the session on the server and forgets the tokens. */
  async logout(): Promise<void> {
    const tokens = this.tokens.load();
    if (tokens) {
      await this.post("/api/v1/auth/logout", { body: { refresh_token: tokens.refreshToken } });
    }
    this.tokens.save(undefined);
  }

  get isLoggedIn(): boolean {
    return this.tokens.load() !== undefined;
  }

  get<P extends PathsFor<"get">>(path: P, ...args: Args<Operation<P, "get">>) {
    return this.send<Answer<Operation<P, "get">>>("GET", path, args[0]);
  }

  post<P extends PathsFor<"post">>(path: P, ...args: Args<Operation<P, "post">>) {
    return this.send<Answer<Operation<P, "post">>>("POST", path, args[0]);
  }

  put<P extends PathsFor<"put">>(path: P, ...args: Args<Operation<P, "put">>) {
    return this.send<Answer<Operation<P, "put">>>("PUT", path, args[0]);
  }

  delete<P extends PathsFor<"delete">>(path: P, ...args: Args<Operation<P, "delete">>) {
    return this.send<Answer<Operation<P, "delete">>>("DELETE", path, args[0]);
  }

  private keep(login: Schemas["LoginResponse"]): void {
    this.tokens.save({ accessToken: login.access_token, refreshToken: login.refresh_token });
  }

  private async send<T>(
    method: string,
    template: string,
    options: { path?: unknown; query?: unknown; body?: unknown; idempotencyKey?: string } = {},
  ): Promise<T> {
    const url = this.baseUrl + fillPath(template, options.path) + queryString(options.query);
    const keyed = KEYED_OPERATIONS.has(`${method} ${template}`);
    // One key for every attempt: the server answers a retry with the first answer.
    const key = options.idempotencyKey ?? (keyed ? this.newKey() : undefined);
    const safeToRepeat = method !== "POST" || key !== undefined;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      const tokens = this.tokens.load();
      if (tokens) headers["authorization"] = `Bearer ${tokens.accessToken}`;
      if (key !== undefined) headers["idempotency-key"] = key;
      let response;
      try {
        response = await this.transport({ method, url, headers, body });
      } catch (cause) {
        if (safeToRepeat && attempt < this.retries) {
          await this.sleep(backoff(attempt));
          continue;
        }
        throw new LinliError(0, "network_error", `${method} ${template}: ${String(cause)}`);
      }
      if (response.status < 300) {
        return (response.status === 204 || response.body === "" ? undefined : JSON.parse(response.body)) as T;
      }
      const error = toError(response);
      if (error.code === "token_expired" && !refreshed && tokens) {
        refreshed = true;
        await this.refresh(tokens);
        attempt--;
        continue;
      }
      if (RETRIED_STATUSES.has(response.status) && safeToRepeat && attempt < this.retries) {
        const wait = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : backoff(attempt);
        await this.sleep(Math.min(wait, 5000));
        continue;
      }
      throw error;
    }
  }

  /** One refresh at a time, however many requests found the token expired together. */
  private refresh(stale: Tokens): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const current = this.tokens.load();
        if (current && current.accessToken !== stale.accessToken) return; // refreshed meanwhile
        const login = await this.send<Schemas["LoginResponse"]>("POST", "/api/v1/auth/refresh", {
          body: { refresh_token: stale.refreshToken },
        });
        this.keep(login);
      } catch (error) {
        this.tokens.save(undefined);
        throw error;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

function fillPath(template: string, params: unknown): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (params as Record<string, unknown> | undefined)?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name} of ${template}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: unknown): string {
  if (!query || typeof query !== "object") return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function toError(response: { status: number; headers: Record<string, string>; body: string }): LinliError {
  const retryAfter = Number(response.headers["retry-after"]);
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
  try {
    const problem = JSON.parse(response.body) as Partial<Problem>;
    if (typeof problem.code === "string") {
      return new LinliError(
        response.status,
        problem.code,
        problem.detail ?? "",
        problem.errors ?? [],
        retryAfterSeconds,
      );
    }
  } catch {
    // not a problem document: a proxy's page, say
  }
  return new LinliError(
    response.status,
    "unexpected_response",
    `HTTP ${response.status}: ${response.body.slice(0, 200)}`,
    [],
    retryAfterSeconds,
  );
}

function backoff(attempt: number): number {
  return 200 * 2 ** attempt;
}

function randomKey(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  // The mini-program's JS engine may lack crypto.randomUUID; 128 random bits suffice.
  let key = "";
  for (let i = 0; i < 32; i++) key += Math.floor(Math.random() * 16).toString(16);
  return key;
}
