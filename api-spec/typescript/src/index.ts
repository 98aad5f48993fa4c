export { LinliClient, LinliError, memoryTokenStore } from "./client.js";
export type { Answer, ClientOptions, Options, PathsFor, Problem, ProblemCode, Schemas, TokenStore, Tokens } from "./client.js";
export { fetchTransport, wxTransport } from "./transport.js";
export type { HttpRequest, HttpResponse, Transport, WxLike } from "./transport.js";
export type { components, paths } from "./schema.js";
