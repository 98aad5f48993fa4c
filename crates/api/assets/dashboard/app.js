// The staff dashboard: logs in, shows the figures of GET /api/v1/staff/dashboard for a period
// and an org, draws them with Apache ECharts (vendored, canvas), lets the official drill from
// the district to a street to a community by clicking, lists the work queues with their
// actions, and refreshes every 30 seconds. Every element is built with DOM APIs and every
// piece of data goes in as text (`node`), tooltips included: names come from partners and
// staff, and the page runs under a CSP without inline script or style.
"use strict";
const API = "/api/v1";
const state = {
  token: sessionStorage.getItem("linli.token"),
  orgId: null,
  period: "30d",
  tree: [],
  charts: {},
};
const $ = (selector) => document.querySelector(selector);

const COLORS = { blue: "#1565c0", green: "#2e7d32", orange: "#ef6c00", red: "#c62828", purple: "#6a1b9a", teal: "#00838f" };
const TARGETS = { closure: 1, satisfaction: 0.95 };

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
  if (key.startsWith("timebank.kind.")) {
    const [kind, field] = key.slice("timebank.kind.".length).split(".");
    const row = data.timebank.by_kind.find((k) => k.kind === kind);
    return row ? row[field] : 0;
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

// Builds an element from a tag, attributes and children (nodes or strings). Strings become
// text nodes: the page never turns data into markup.
function node(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value != null) element.setAttribute(name, String(value));
  }
  element.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return element;
}

// ---------------------------------------------------------------------------------------
// The period: this week, month or year in Beijing time, the last 30 days, or a custom range
// of whole days. `to` is exclusive, as the API takes it.

const DAY = 86400000;
const BEIJING = 8 * 3600000;
const beijingMidnight = (y, m, d) => new Date(Date.UTC(y, m, d) - BEIJING);
const beijingDate = (date) => new Date(date.getTime() + BEIJING).toISOString().slice(0, 10);

function periodRange() {
  const now = new Date();
  const b = new Date(now.getTime() + BEIJING);
  const [y, m, d] = [b.getUTCFullYear(), b.getUTCMonth(), b.getUTCDate()];
  switch (state.period) {
    case "week": return { from: beijingMidnight(y, m, d - ((b.getUTCDay() + 6) % 7)), to: now };
    case "month": return { from: beijingMidnight(y, m, 1), to: now };
    case "year": return { from: beijingMidnight(y, 0, 1), to: now };
    case "custom": {
      const [fy, fm, fd] = $("#period-from").value.split("-").map(Number);
      const [ty, tm, td] = $("#period-to").value.split("-").map(Number);
      return { from: beijingMidnight(fy, fm - 1, fd), to: beijingMidnight(ty, tm - 1, td + 1) };
    }
    default: return { from: new Date(now.getTime() - 30 * DAY), to: now };
  }
}

function scopeQuery() {
  const { from, to } = periodRange();
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  if (state.orgId) query.set("org_id", state.orgId);
  return query.toString();
}

function showPeriod() {
  const { from, to } = periodRange();
  $("#period-label").textContent = `${beijingDate(from)} 至 ${beijingDate(new Date(to.getTime() - 1))}`;
}

// ---------------------------------------------------------------------------------------
// Charts. ECharts draws on canvas; its tooltips are DOM nodes built here with text only.

function chart(key) {
  if (!state.charts[key]) {
    // Made once the board is shown: ECharts takes its size from the element.
    const made = echarts.init($("#chart-" + key), null, { renderer: "canvas" });
    if (key === "areas") made.on("click", (params) => drillTo(state.areaIds && state.areaIds[params.dataIndex]));
    state.charts[key] = made;
  }
  return state.charts[key];
}

function tooltip(valueFormat) {
  return (params) => {
    const items = Array.isArray(params) ? params : [params];
    const box = node("div", { class: "tip" }, [node("b", {}, [items[0] ? items[0].name : ""])]);
    for (const item of items) {
      const dot = node("span", { class: "dot" });
      dot.style.background = item.color;
      const value = Array.isArray(item.value) ? item.value[item.value.length - 1] : item.value;
      box.append(node("div", {}, [dot, `${item.seriesName}：${format(value, valueFormat)}`]));
    }
    return box;
  };
}

// One chart and its table: `categories` along x, `series` of {name, color, values, line?}.
function draw(key, { categories, series, valueFormat, zoom = false, marks = {}, table }) {
  const percent = valueFormat === "percent";
  chart(key).setOption({
    aria: { enabled: true },
    animation: false,
    color: series.map((s) => s.color),
    grid: { left: 12, right: 20, top: 36, bottom: zoom ? 40 : 8, containLabel: true },
    legend: { top: 4, data: series.map((s) => s.name) },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tooltip(valueFormat) },
    dataZoom: zoom ? [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }] : [],
    // Every name under its bar (slanted when there are many); dates thin themselves out.
    xAxis: {
      type: "category",
      data: categories,
      axisLabel: zoom ? { hideOverlap: true } : { interval: 0, rotate: categories.length > 6 ? 30 : 0 },
    },
    yAxis: {
      type: "value",
      max: percent ? 1 : null,
      axisLabel: { formatter: (v) => (percent ? Math.round(v * 100) + "%" : format(v)) },
    },
    series: series.map((s) => ({
      name: s.name,
      type: s.line ? "line" : "bar",
      data: s.values,
      showSymbol: false,
      markLine: marks[s.name]
        ? {
          symbol: "none",
          lineStyle: { type: "dashed", color: s.color },
          label: { formatter: marks[s.name].label, position: marks[s.name].position, color: s.color },
          data: [{ yAxis: marks[s.name].value }],
        }
        : undefined,
    })),
  }, { notMerge: true });
  fillTable(key, [table.first, ...series.map((s) => s.name)],
    categories.map((c, i) => [c, ...series.map((s) => format(s.values[i], valueFormat))]), table.drill);
}

function fillTable(key, headings, rows, drill) {
  const table = $("#table-" + key);
  table.tHead.replaceChildren(node("tr", {}, headings.map((h) => node("th", { scope: "col" }, [h]))));
  table.tBodies[0].replaceChildren(...rows.map((cells, i) => {
    const row = node("tr", {}, cells.map((c) => node("td", {}, [c])));
    if (drill && drill[i]) row.append(node("td", {}, [node("button", { "data-drill": drill[i] }, ["下钻"])]));
    return row;
  }));
}

// The area chart's rows: a district's streets (their communities' counts added up), a
// street's communities; at a community, the community itself. Rates are recomputed from the
// counts so that a street's rate is its communities' demands, not an average of rates.
function areaRows(data) {
  const here = findOrg(state.tree, data.org_id);
  const figures = new Map(data.demands.by_community.map((c) => [c.id, c]));
  const sum = (ids) => {
    const total = { total: 0, closed: 0, rated: 0, satisfied: 0 };
    for (const id of ids) {
      const f = figures.get(id);
      if (f) for (const k of Object.keys(total)) total[k] += f[k];
    }
    return total;
  };
  const communitiesUnder = (org) => (org.kind === "community" ? [org.id] : (org.children || []).flatMap(communitiesUnder));
  const children = here && here.kind !== "community" ? (here.children || []).filter((c) => c.kind !== "compound") : here ? [here] : [];
  return children.map((org) => {
    const t = sum(communitiesUnder(org));
    return {
      id: org.id,
      name: org.name,
      drillable: org.kind !== "community" || here.kind !== "community",
      closure: t.total ? t.closed / t.total : null,
      satisfaction: t.rated ? t.satisfied / t.rated : null,
    };
  });
}

function drawCharts(data, series) {
  const areas = areaRows(data);
  state.areaIds = areas.map((a) => (a.drillable && a.id !== data.org_id ? a.id : null));
  draw("areas", {
    categories: areas.map((a) => a.name),
    series: [
      { name: "办结率", color: COLORS.blue, values: areas.map((a) => a.closure) },
      { name: "满意率", color: COLORS.green, values: areas.map((a) => a.satisfaction) },
    ],
    valueFormat: "percent",
    marks: {
      办结率: { value: TARGETS.closure, label: "办结目标 100%", position: "insideEndTop" },
      满意率: { value: TARGETS.satisfaction, label: "满意目标 95%", position: "insideEndBottom" },
    },
    table: { first: "范围", drill: state.areaIds },
  });
  draw("categories", {
    categories: data.demands.by_category.map((c) => c.name),
    series: [{ name: "诉求数", color: COLORS.orange, values: data.demands.by_category.map((c) => c.total) }],
    table: { first: "类别" },
  });
  draw("demands-daily", {
    categories: series.demands_by_day.map((d) => d.date),
    series: [
      { name: "提交", color: COLORS.orange, line: true, values: series.demands_by_day.map((d) => d.submitted) },
      { name: "办结", color: COLORS.green, line: true, values: series.demands_by_day.map((d) => d.closed) },
    ],
    zoom: true,
    table: { first: "日期" },
  });
  draw("points-daily", {
    categories: series.points_by_day.map((d) => d.date),
    series: [
      { name: "发放", color: COLORS.blue, line: true, values: series.points_by_day.map((d) => d.issued) },
      { name: "兑换", color: COLORS.red, line: true, values: series.points_by_day.map((d) => d.redeemed) },
    ],
    zoom: true,
    table: { first: "日期" },
  });
  draw("parking", {
    categories: series.parking_by_lot.map((l) => l.name),
    series: [{ name: "利用率", color: COLORS.purple, values: series.parking_by_lot.map((l) => l.utilization) }],
    valueFormat: "percent",
    table: { first: "停车场" },
  });
  draw("volunteers", {
    categories: series.volunteer_hours_by_month.map((m) => m.month),
    series: [{ name: "志愿时长（小时）", color: COLORS.teal, values: series.volunteer_hours_by_month.map((m) => m.hours) }],
    valueFormat: "decimal",
    table: { first: "月份" },
  });
}

function saveImage(key) {
  const link = document.createElement("a");
  link.href = chart(key).getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
  link.download = `${key}-${beijingDate(new Date())}.png`;
  link.click();
  return link.href;
}

// ---------------------------------------------------------------------------------------
// Where the official looks: the org tree, the breadcrumb from their own org down, drilling.

function findOrg(nodes, id) {
  for (const n of nodes) {
    if (n.id === id) return n;
    const hit = findOrg(n.children || [], id);
    if (hit) return hit;
  }
  return null;
}

function pathTo(nodes, id, trail = []) {
  for (const n of nodes) {
    if (n.id === id) return [...trail, n];
    const hit = pathTo(n.children || [], id, [...trail, n]);
    if (hit) return hit;
  }
  return null;
}

function showScope() {
  const trail = pathTo(state.tree, state.orgId) || [];
  const top = trail.findIndex((n) => n.id === state.homeId);
  const reachable = top >= 0 ? trail.slice(top) : trail.slice(-1);
  $("#crumbs").replaceChildren(...reachable.flatMap((n, i) => {
    const last = i === reachable.length - 1;
    const item = last ? node("b", { "aria-current": "page" }, [n.name]) : node("button", { "data-crumb": n.id }, [n.name]);
    return i ? [node("span", { class: "sep", "aria-hidden": "true" }, ["›"]), item] : [item];
  }));
  const here = findOrg(state.tree, state.orgId);
  const select = $("#org-select");
  const children = here ? (here.children || []).filter((c) => c.kind !== "compound") : [];
  select.replaceChildren(node("option", { value: "" }, ["下钻到…"]), ...children.map((c) => node("option", { value: c.id }, [c.name])));
  select.hidden = !children.length;
}

function drillTo(id) {
  if (!id || id === state.orgId) return;
  state.orgId = id;
  refresh().catch((error) => alert(error.message));
}

// ---------------------------------------------------------------------------------------

async function refresh() {
  const query = scopeQuery();
  showPeriod();
  const [data, series] = await Promise.all([api("/staff/dashboard?" + query), api("/staff/dashboard/series?" + query)]);
  state.orgId = data.org_id;
  state.homeId = state.homeId || data.org_id;
  $("#org-name").textContent = data.org_name;
  document.querySelectorAll("[data-kpi]").forEach((el) => {
    const value = pick(data, el.dataset.kpi);
    el.textContent = format(value, el.dataset.format);
    el.dataset.value = value == null ? "" : String(value);
  });
  // Over very many resolved demands the percentiles come from a fixed sample (API: percentile_sample_rate).
  $("#p90-sampled").hidden = !(data.demands.percentile_sample_rate < 1);
  showScope();
  drawCharts(data, series);
  await Promise.all([demandQueue(), merchantQueue()]);
  $("#updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN");
  document.body.dataset.shown = `${data.org_id} ${state.period}`;
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

async function download(file) {
  const response = await fetch(`${API}/staff/exports/${file}?${scopeQuery()}`, { headers: { authorization: "Bearer " + state.token } });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    alert("导出失败：" + (problem.detail || response.statusText));
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = file;
  link.click();
}

function logout() {
  sessionStorage.removeItem("linli.token");
  state.token = null;
  state.orgId = null;
  state.homeId = null;
  $("#board").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
}

async function start() {
  $("#login").hidden = true;
  $("#board").hidden = false;
  $("#logout").hidden = false;
  state.tree = await api("/orgs");
  await refresh();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-error").textContent = "";
  try {
    const reply = await api("/auth/staff-login", { method: "POST", body: JSON.stringify({ username: $("#username").value, password: $("#password").value }) });
    state.token = reply.access_token;
    sessionStorage.setItem("linli.token", state.token);
    $("#password").value = "";
    await start();
  } catch (error) {
    $("#login-error").textContent = "登录失败：" + error.message;
  }
});
$("#logout").addEventListener("click", logout);
$("#org-select").addEventListener("change", (event) => drillTo(event.target.value));
$("#crumbs").addEventListener("click", (event) => {
  const crumb = event.target.closest("button[data-crumb]");
  if (crumb) drillTo(crumb.dataset.crumb);
});
$("#table-areas").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-drill]");
  if (button) drillTo(button.dataset.drill);
});
$("#period").addEventListener("change", (event) => {
  state.period = event.target.value;
  const custom = state.period === "custom";
  $("#custom-range").hidden = !custom;
  if (custom) {
    $("#period-from").value ||= beijingDate(new Date(Date.now() - 30 * DAY));
    $("#period-to").value ||= beijingDate(new Date());
  }
  refresh().catch((error) => alert(error.message));
});
$("#period-apply").addEventListener("click", () => refresh().catch((error) => alert(error.message)));
document.querySelectorAll("button[data-save]").forEach((b) => b.addEventListener("click", () => saveImage(b.dataset.save)));
document.querySelectorAll("button[data-export]").forEach((b) => b.addEventListener("click", () => download(b.dataset.export)));
$("#demand-queue").addEventListener("click", act);
$("#merchant-queue").addEventListener("click", act);
window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
setInterval(() => { if (state.token && !$("#board").hidden) refresh().catch(() => {}); }, 30000);
if (state.token) start().catch(logout);
