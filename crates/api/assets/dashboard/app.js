// The staff dashboard: logs in, shows the figures of GET /api/v1/staff/dashboard, draws bar
// charts, lists the work queues with their actions, and refreshes every 30 seconds. Every
// element is built with DOM APIs and every piece of data goes in as text (`node`): names come
// from partners and staff, and the page runs under a CSP without inline script or style.
"use strict";
const API = "/api/v1";
const state = { token: sessionStorage.getItem("linli.token"), orgId: null };
const $ = (selector) => document.querySelector(selector);

async function api(path, options = {}) {
  const response = await fetch(API + path, {
    ...options,
    headers: { "content-type": "application/json", ...(state.token ? { authorization: "Bearer " + state.token } : {}) },
  });
  if (response.status === 401) { logout(); throw new Error("请重新登录"); }
  if (!response.ok) { const problem = await response.json().catch(() => ({})); throw new Error(problem.detail || response.statusText); }
  return response.status === 204 ? null : response.json();
}

function pick(data, key) {
  if (key === "service_value_yuan") return data.service_value_fen / 100;
  if (key === "timebank.volunteer_hours") return data.timebank.volunteer_minutes / 60;
  if (key.startsWith("partners.kind.")) {
    const row = data.partners.by_kind.find((k) => k.kind === key.slice("partners.kind.".length));
    return row ? row.active : 0;
  }
  if (key.startsWith("care.colour.")) {
    const row = data.care.by_colour.find((c) => c.colour === key.slice("care.colour.".length));
    return row ? row.count : 0;
  }
  if (key.startsWith("care.orders.")) {
    const row = data.care.home_service_orders.by_status.find((s) => s.status === key.slice("care.orders.".length));
    return row ? row.count : 0;
  }
  return key.split(".").reduce((value, part) => (value == null ? value : value[part]), data);
}

function format(value, kind) {
  if (value == null) return "—";
  if (kind === "percent") return (value * 100).toFixed(1) + "%";
  if (kind === "hours" || kind === "decimal") return Number(value).toFixed(1);
  return Number(value).toLocaleString("zh-CN");
}

const SVG = "http://www.w3.org/2000/svg";

// Builds an element from a tag, attributes and children (nodes or strings). Strings become
// text nodes: the page never turns data into markup.
function node(tag, attributes = {}, children = [], namespace = null) {
  const element = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value != null) element.setAttribute(name, String(value));
  }
  element.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return element;
}
const svgNode = (tag, attributes, children) => node(tag, attributes, children, SVG);

function bars(svg, items, kind) {
  // items: [{label, values: [{value, color, title}]}]; kind "percent" scales to 0..100%.
  const width = 600, height = 220, left = 44, bottom = 20, top = 10, plot = height - bottom - top;
  const max = kind === "percent" ? 1 : Math.max(1, ...items.flatMap((i) => i.values.map((v) => v.value)));
  const slot = (width - left) / Math.max(1, items.length);
  // At most a dozen labels under the bars, so a year of days stays readable.
  const every = Math.max(1, Math.ceil(items.length / 12));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  if (!items.length) {
    svg.replaceChildren(svgNode("text", { x: width / 2, y: height / 2, "font-size": 14, "text-anchor": "middle", fill: "#888" }, ["暂无数据"]));
    return;
  }
  const axis = [0, 0.5, 1].flatMap((f) => {
    const y = height - bottom - f * plot;
    const label = kind === "percent" ? Math.round(f * 100) + "%" : format(f * max);
    return [
      svgNode("line", { x1: left, x2: width, y1: y, y2: y, stroke: "#ddd" }),
      svgNode("text", { x: left - 4, y: y + 4, "font-size": 11, "text-anchor": "end" }, [label]),
    ];
  });
  const body = items.flatMap((item, i) => {
    const barWidth = (slot * 0.7) / item.values.length;
    const rects = item.values.map((v, j) => {
      const h = (v.value / max) * plot;
      return svgNode("rect", { x: left + i * slot + slot * 0.15 + j * barWidth, y: height - bottom - h, width: barWidth, height: h, fill: v.color },
        [svgNode("title", {}, [`${item.label}: ${v.title}`])]);
    });
    const label = i % every === 0
      ? [svgNode("text", { x: left + i * slot + slot / 2, y: height - 4, "font-size": 12, "text-anchor": "middle" }, [String(item.label).slice(0, 6)])]
      : [];
    return [...rects, ...label];
  });
  svg.replaceChildren(...axis, ...body);
}

async function refresh() {
  const query = state.orgId ? "?org_id=" + encodeURIComponent(state.orgId) : "";
  const data = await api("/staff/dashboard" + query);
  state.orgId = data.org_id;
  $("#org-name").textContent = data.org_name;
  document.querySelectorAll("[data-kpi]").forEach((el) => {
    const value = pick(data, el.dataset.kpi);
    el.textContent = format(value, el.dataset.format);
    el.dataset.value = value == null ? "" : String(value);
  });
  // Over very many resolved demands the percentiles come from a fixed sample (API: percentile_sample_rate).
  $("#p90-sampled").hidden = !(data.demands.percentile_sample_rate < 1);
  bars($("#chart-communities"), data.demands.by_community.map((c) => ({
    label: c.name,
    values: [
      { value: c.closure_rate || 0, color: "#1565c0", title: "办结率 " + format(c.closure_rate, "percent") },
      { value: c.satisfaction_rate || 0, color: "#2e7d32", title: "满意率 " + format(c.satisfaction_rate, "percent") },
    ],
  })), "percent");
  bars($("#chart-categories"), data.demands.by_category.map((c) => ({
    label: c.name, values: [{ value: c.total, color: "#ef6c00", title: c.total + " 件" }],
  })));
  const series = await api("/staff/dashboard/series" + query);
  bars($("#chart-demands-daily"), series.demands_by_day.map((d) => ({
    label: d.date.slice(5),
    values: [
      { value: d.submitted, color: "#ef6c00", title: "提交 " + d.submitted },
      { value: d.closed, color: "#2e7d32", title: "办结 " + d.closed },
    ],
  })));
  bars($("#chart-points-daily"), series.points_by_day.map((d) => ({
    label: d.date.slice(5),
    values: [
      { value: d.issued, color: "#1565c0", title: "发放 " + d.issued },
      { value: d.redeemed, color: "#c62828", title: "兑换 " + d.redeemed },
    ],
  })));
  bars($("#chart-parking"), series.parking_by_lot.map((l) => ({
    label: l.name, values: [{ value: l.utilization || 0, color: "#6a1b9a", title: format(l.utilization, "percent") }],
  })), "percent");
  bars($("#chart-volunteers"), series.volunteer_hours_by_month.map((m) => ({
    label: m.month, values: [{ value: m.hours, color: "#00838f", title: m.hours.toFixed(1) + " 小时" }],
  })));
  await Promise.all([demandQueue(), merchantQueue()]);
  $("#updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN");
}

const STATUS_NAMES = { submitted: "待受理", accepted: "已受理", in_progress: "处理中" };

async function demandQueue() {
  const query = state.orgId ? "&org_id=" + encodeURIComponent(state.orgId) : "";
  const lists = await Promise.all(["submitted", "accepted", "in_progress"].map((s) => api(`/staff/demands?limit=50&status=${s}${query}`)));
  const open = lists.flatMap((l) => l.items).sort((a, b) => a.due_at.localeCompare(b.due_at));
  $("#demand-queue tbody").replaceChildren(...open.map((d) => {
    const action = d.status === "submitted" ? ["accept", "受理"] : ["resolve", "办结"];
    return node("tr", { class: d.overdue ? "overdue" : null, "data-demand": d.id }, [
      node("td", {}, [d.title]),
      node("td", {}, [STATUS_NAMES[d.status] || d.status]),
      node("td", {}, [new Date(d.due_at).toLocaleString("zh-CN")]),
      node("td", {}, [node("button", { "data-act": action[0] }, [action[1]])]),
    ]);
  }));
}

async function merchantQueue() {
  const page = await api("/staff/merchants?status=pending");
  $("#merchant-queue tbody").replaceChildren(...page.items.map((m) => node("tr", { "data-merchant": m.id }, [
    node("td", {}, [m.name]),
    node("td", {}, [m.category]),
    node("td", {}, [node("button", { "data-act": "approve" }, ["通过"]), " ", node("button", { "data-act": "reject" }, ["驳回"])]),
  ])));
}

async function act(event) {
  const button = event.target.closest("button[data-act]");
  if (!button) return;
  const row = button.closest("tr");
  const action = button.dataset.act;
  button.disabled = true;
  try {
    if (row.dataset.demand) {
      const body = action === "resolve" ? { resolution: prompt("办结说明", "已处理完毕") || "已处理完毕" } : {};
      await api(`/staff/demands/${row.dataset.demand}/${action}`, { method: "POST", body: JSON.stringify(body) });
    } else {
      const reason = action === "reject" ? prompt("驳回理由", "材料不全") || "材料不全" : "";
      await api(`/staff/merchants/${row.dataset.merchant}/${action}`, { method: "POST", body: JSON.stringify({ reason }) });
    }
    await refresh();
  } catch (error) {
    alert(error.message);
    button.disabled = false;
  }
}

async function download(kind) {
  const response = await fetch(`${API}/staff/exports/demands.${kind}${state.orgId ? "?org_id=" + encodeURIComponent(state.orgId) : ""}`, { headers: { authorization: "Bearer " + state.token } });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `诉求导出.${kind}`;
  link.click();
}

async function orgChoices() {
  const tree = await api("/orgs");
  const find = (nodes) => nodes.reduce((hit, n) => hit || (n.id === state.orgId ? n : find(n.children || [])), null);
  const here = find(tree);
  const select = $("#org-select");
  if (!here || !(here.children || []).length) return;
  select.replaceChildren(
    node("option", { value: here.id }, [here.name + "（全部）"]),
    ...here.children.filter((c) => c.kind !== "compound").map((c) => node("option", { value: c.id }, [c.name])),
  );
  select.hidden = false;
}

function logout() {
  sessionStorage.removeItem("linli.token");
  state.token = null;
  $("#board").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
}

async function start() {
  $("#login").hidden = true;
  $("#board").hidden = false;
  $("#logout").hidden = false;
  await refresh();
  await orgChoices();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-error").textContent = "";
  try {
    const reply = await api("/auth/staff-login", { method: "POST", body: JSON.stringify({ username: $("#username").value, password: $("#password").value }) });
    state.token = reply.access_token;
    sessionStorage.setItem("linli.token", state.token);
    await start();
  } catch (error) {
    $("#login-error").textContent = "登录失败：" + error.message;
  }
});
$("#logout").addEventListener("click", logout);
$("#org-select").addEventListener("change", (event) => { state.orgId = event.target.value; refresh(); });
$("#demand-queue").addEventListener("click", act);
$("#merchant-queue").addEventListener("click", act);
$("#export-csv").addEventListener("click", () => download("csv"));
$("#export-xlsx").addEventListener("click", () => download("xlsx"));
setInterval(() => { if (state.token && !$("#board").hidden) refresh().catch(() => {}); }, 30000);
if (state.token) start().catch(logout);
