// Starts a real Linli server for the client's tests: the `linli` binary of this checkout
// (LINLI_BIN, else $CARGO_TARGET_DIR/debug/linli, else target/debug/linli), on a free port,
// with an embedded SQLite database of its own, the demo data, and a JWT secret the tests know
// (so they can hand the client an access token that has expired, as a phone left overnight
// would hold).

import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const DEMO_PASSWORD = "linli-demo";
const JWT_SECRET = "linli-client-tests-secret-of-at-least-32-bytes";

const repo = resolve(fileURLToPath(import.meta.url), "../../../../..");

export interface Server {
  baseUrl: string;
  stop(): Promise<void>;
}

function binary(): string {
  if (process.env.LINLI_BIN) return process.env.LINLI_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, "target");
  return join(target, "debug", "linli");
}

export async function startServer(): Promise<Server> {
  if (!existsSync(binary())) {
    throw new Error(`no server binary at ${binary()}: run \`cargo build -p api\` first, or set LINLI_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), "linli-client-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("LINLI")) env[name] = value;
  }
  Object.assign(env, {
    LINLI_ENV: "test",
    LINLI_CONFIG_DIR: join(repo, "config"),
    LINLI__SERVER__PORT: "0",
    LINLI__DATABASE__URL: `sqlite://${join(dir, "linli.db")}?mode=rwc`,
    LINLI__AUTH__JWT_SECRET: JWT_SECRET,
    LINLI__LOG__FILTER: "info",
  });
  const child: ChildProcess = spawn(binary(), [], { env, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("linli did not start within 60 s")), 60_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`linli exited with ${code} before it was ready`)));
    lines.on("line", (line) => {
      const found = /listening on (http:\/\/[0-9.:]+)/.exec(line);
      if (found?.[1]) {
        clearTimeout(timer);
        resolveUrl(found[1]);
      }
    });
  });
  return {
    baseUrl,
    stop: async () => {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The same access token, signed again with its expiry an hour ago. */
export function expired(accessToken: string): string {
  const [header, payload] = accessToken.split(".");
  const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
  claims.exp = Math.floor(Date.now() / 1000) - 3600;
  const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = createHmac("sha256", JWT_SECRET).update(body).digest("base64url");
  return `${body}.${signature}`;
}
