// The client against a live Linli server: WeChat login, the wallet and the catalog, a
// reservation and its code, a demand, a parking booking, typed errors, an expired access
// token refreshed once, and a reservation whose answer was lost sent again and posted once.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  fetchTransport,
  LinliClient,
  LinliError,
  memoryTokenStore,
  type HttpRequest,
  type Schemas,
  type Transport,
} from "../src/index.js";
import { DEMO_PASSWORD, expired, startServer, type Server } from "./server.js";

let server: Server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

/** A transport that records what it sends, and can lose the answer of chosen requests
 * after the server has handled them (as a dropped mobile connection does). */
function recording(loseAnswerOf: (request: HttpRequest) => boolean = () => false) {
  const sent: HttpRequest[] = [];
  const real = fetchTransport();
  const transport: Transport = async (request) => {
    sent.push(request);
    const response = await real(request);
    if (loseAnswerOf(request)) throw new Error("the connection dropped before the answer came");
    return response;
  };
  return { sent, transport };
}

function client(transport: Transport = fetchTransport()): LinliClient {
  return new LinliClient({ baseUrl: server.baseUrl, transport, sleep: async () => {} });
}

function orgNamed(nodes: Schemas["OrgTreeNode"][], name: string): string {
  for (const node of nodes) {
    if (node.name === name) return node.id;
    try {
      return orgNamed(node.children, name);
    } catch {
      // not under this one
    }
  }
  throw new Error(`no org named ${name}`);
}

/** A resident of 新华社区 with `points` from the community's budget. */
async function residentWithPoints(name: string, points: number, transport?: Transport) {
  const resident = client(transport);
  const login = await resident.loginWithWechat(`dev-${name}`);
  const tree = await resident.get("/api/v1/orgs");
  await resident.put("/api/v1/me/profile", { body: { community_id: orgNamed(tree, "新华社区") } });
  const staff = client();
  await staff.loginStaff("community", DEMO_PASSWORD);
  await staff.post("/api/v1/staff/points/awards", {
    body: { user_id: login.user.id, points, reason: "清扫楼道" },
  });
  return { resident, userId: login.user.id };
}

test("a WeChat login reads the wallet and the catalog", async () => {
  const alice = client();
  const login = await alice.loginWithWechat("dev-alice");
  assert.ok(login.user.roles.includes("resident"));
  const wallet = await alice.get("/api/v1/me/wallet");
  assert.equal(wallet.points.balance, 0);
  const catalog = await alice.get("/api/v1/offers", { query: { limit: 5 } });
  assert.ok(catalog.items.length > 0, "the demo shops have offers");
});

test("a reservation shows its code, and a refusal is a typed error", async () => {
  const { resident } = await residentWithPoints("bob", 500);
  const catalog = await resident.get("/api/v1/offers", { query: { limit: 50 } });
  const offer = catalog.items.find((o) => o.points_price <= 500 && o.kind === "service");
  assert.ok(offer, "an affordable service in the catalog");
  const reserved = await resident.post("/api/v1/offers/{id}/redemptions", { path: { id: offer.id } });
  assert.equal(reserved.status, "reserved");
  const code = await resident.post("/api/v1/redemptions/{id}/code", { path: { id: reserved.id } });
  assert.equal(code.short_code.length, 8);

  const poor = client();
  await poor.loginWithWechat("dev-poor");
  await assert.rejects(
    poor.post("/api/v1/offers/{id}/redemptions", { path: { id: offer.id } }),
    (error: unknown) => error instanceof LinliError && error.status === 409 && error.code === "insufficient_points",
  );
  await assert.rejects(
    poor.post("/api/v1/demands", {
      body: { category_id: "no-such-category", title: "", description: "", community_id: "nowhere" },
    }),
    (error: unknown) =>
      error instanceof LinliError && error.status === 422 && error.code === "validation_failed" && error.errors.length > 0,
  );
});

test("a reservation whose answer was lost is sent again with its key and posted once", async () => {
  let lost = 0;
  const { sent, transport } = recording((request) => {
    const reserving = request.method === "POST" && request.url.endsWith("/redemptions");
    return reserving && lost++ === 0;
  });
  const { resident } = await residentWithPoints("carol", 500, transport);
  const catalog = await resident.get("/api/v1/offers", { query: { limit: 50 } });
  const offer = catalog.items.find((o) => o.points_price <= 200 && o.kind === "service");
  assert.ok(offer);
  const reserved = await resident.post("/api/v1/offers/{id}/redemptions", { path: { id: offer.id } });

  const attempts = sent.filter((r) => r.method === "POST" && r.url.endsWith("/redemptions"));
  assert.equal(attempts.length, 2, "the lost answer was asked for again");
  const keys = attempts.map((r) => r.headers["idempotency-key"]);
  assert.ok(keys[0], "a value-moving POST carries a key");
  assert.equal(keys[1], keys[0], "the retry reuses it");
  const wallet = await resident.get("/api/v1/me/wallet");
  assert.equal(wallet.points.held, offer.points_price, "held once, not twice");
  const mine = await resident.get("/api/v1/me/redemptions");
  assert.deepEqual(
    mine.items.map((r) => r.id),
    [reserved.id],
  );
  const unkeyed = sent.filter((r) => r.method === "GET" || r.url.endsWith("/me/profile"));
  assert.ok(unkeyed.every((r) => r.headers["idempotency-key"] === undefined), "reads carry no key");
});

test("an expired access token is refreshed once and the requests go through", async () => {
  const { sent, transport } = recording();
  const tokens = memoryTokenStore();
  const dave = new LinliClient({ baseUrl: server.baseUrl, transport, tokens });
  await dave.loginWithWechat("dev-dave");
  const held = tokens.load();
  assert.ok(held);
  tokens.save({ ...held, accessToken: expired(held.accessToken) });
  const [wallet, me, notes] = await Promise.all([
    dave.get("/api/v1/me/wallet"),
    dave.get("/api/v1/me"),
    dave.get("/api/v1/me/notifications"),
  ]);
  assert.equal(wallet.points.balance, 0);
  assert.ok(me.id);
  assert.ok(Array.isArray(notes.items));
  const refreshes = sent.filter((r) => r.url.endsWith("/api/v1/auth/refresh"));
  assert.equal(refreshes.length, 1, "three requests found the token expired; one refresh");
  const expiredAnswers = sent.filter((r) => r.url.endsWith("/api/v1/me/wallet"));
  assert.equal(expiredAnswers.length, 2, "the wallet was asked for again after the refresh");
  const kept = tokens.load();
  assert.notEqual(kept?.refreshToken, held.refreshToken, "the rotated refresh token is kept");
  assert.notEqual(kept?.accessToken, expired(held.accessToken), "and a live access token");
  await dave.logout();
  assert.equal(dave.isLoggedIn, false);
});

test("a demand is filed and listed", async () => {
  const erin = client();
  await erin.loginWithWechat("dev-erin");
  const tree = await erin.get("/api/v1/orgs");
  const categories = await erin.get("/api/v1/demand-categories");
  const category = categories[0];
  assert.ok(category);
  const filed = await erin.post("/api/v1/demands", {
    body: {
      category_id: category.id,
      title: "楼道灯不亮",
      description: "三单元二楼",
      community_id: orgNamed(tree, "新华社区"),
    },
  });
  assert.equal(filed.status, "submitted");
  const mine = await erin.get("/api/v1/me/demands");
  assert.deepEqual(
    mine.items.map((d) => d.id),
    [filed.id],
  );
});

test("a parking booking holds its price", async () => {
  const admin = client();
  await admin.loginStaff("admin", DEMO_PASSWORD);
  const tree = await admin.get("/api/v1/orgs");
  const lot = await admin.post("/api/v1/admin/parking/lots", {
    body: {
      name: "客户端测试停车场",
      org_id: orgNamed(tree, "新华街道"),
      address: "新华街1号",
      slot_count: 2,
      points_per_hour: 10,
      billing_unit_minutes: 30,
      open_hours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: "00:00", to: "24:00" }],
      max_booking_hours: 12,
    },
  });
  const { resident } = await residentWithPoints("frank", 300);
  const start = new Date(Date.now() + 30 * 60_000);
  const booked = await resident.post("/api/v1/parking/bookings", {
    body: {
      lot_id: lot.id,
      plate: "晋B12345",
      starts_at: start.toISOString(),
      ends_at: new Date(start.getTime() + 2 * 3_600_000).toISOString(),
    },
  });
  assert.equal(booked.status, "booked");
  assert.equal(booked.held_points, 20);
  const wallet = await resident.get("/api/v1/me/wallet");
  assert.equal(wallet.points.held, 20);
});
