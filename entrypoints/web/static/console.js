// The tradeplane console: pages over the gateway's /api/v1, live through its event streams.
//
// Everything shown comes from the API as exact decimal strings; they are rounded for display
// with BigInt arithmetic, never through binary floats (the charts alone plot floats). Text
// from the server is always set as text, never parsed as HTML.
"use strict";

const API = "/api/v1";
const REFRESH_MS = 2000;
const PRICE_POINTS = 3600;
const ROLES = { viewer: 1, trader: 2, admin: 3 };

const state = {
  session: null, // {name, role, csrf_token}
  currency: "",
  instruments: [],
  timer: null,
  orders: null, // the EventSource of order events
  pageStreams: [],
  page: null,
};

// -- small helpers -----------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace `el`'s children, leaving out the absent ones (replaceChildren would show "null"). */
function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function can(role) {
  return state.session !== null && ROLES[state.session.role] >= ROLES[role];
}

/** A decimal string rounded half away from zero to `places`, with digit grouping. */
function dec(text, places) {
  if (text === undefined || text === null || text === "") return "—";
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(text).trim());
  if (!match) return String(text);
  let [, sign, whole, frac = ""] = match;
  if (match[4]) return String(text); // exponent form: shown as sent
  whole = whole || "0";
  if (places === undefined) places = Math.min(frac.replace(/0+$/, "").length, 8);
  let digits = BigInt(whole + frac.padEnd(places, "0").slice(0, places));
  if (frac.length > places && frac[places] >= "5") digits += 1n;
  let out = digits.toString().padStart(places + 1, "0");
  let intPart = places ? out.slice(0, -places) : out;
  const fracPart = places ? out.slice(-places) : "";
  intPart = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const zero = /^[0,]*$/.test(intPart) && /^0*$/.test(fracPart);
  return (sign && !zero ? "−" : "") + intPart + (places ? "." + fracPart : "");
}

function signed(text, places) {
  const shown = dec(text, places);
  if (shown === "—") return h("span", {}, shown);
  const negative = shown.startsWith("−");
  const zero = /^[0.,]*$/.test(shown);
  return h("span", { class: zero ? "" : negative ? "loss" : "gain" }, (negative || zero ? "" : "+") + shown);
}

function pct(fraction, places = 2) {
  if (fraction === undefined || fraction === null || fraction === "") return "—";
  const text = typeof fraction === "number" ? fraction.toFixed(12) : String(fraction);
  const match = /^(-?)(\d*)\.?(\d*)$/.exec(text);
  if (!match) return text;
  const [, sign, whole, frac] = match;
  const shifted = (whole + (frac + "00").slice(0, 2)).replace(/^0+(?=\d)/, "") + "." + frac.slice(2);
  return dec(sign + shifted, places) + " %";
}

function when(timestamp) {
  if (!timestamp) return "—";
  const date = new Date(timestamp);
  return isNaN(date) ? String(timestamp) : date.toLocaleString(undefined, { hour12: false });
}

function short(enumName, prefix) {
  if (!enumName) return "—";
  return String(enumName).replace(prefix, "").replaceAll("_", " ").toLowerCase();
}

function toast(text, bad = false) {
  const el = h("div", { class: "toast" + (bad ? " bad" : ""), role: bad ? "alert" : "status" }, text);
  const toasts = document.getElementById("toasts");
  toasts.append(el);
  while (toasts.children.length > 3) toasts.firstElementChild.remove();
  setTimeout(() => el.remove(), bad ? 8000 : 4000);
}

class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.error = error || {};
  }
}

async function api(method, path, body, accept = "application/json") {
  const headers = { Accept: accept };
  if (method !== "GET" && state.session) headers["X-CSRF-Token"] = state.session.csrf_token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (accept === "text/event-stream" && response.ok) return response;
  let data = {};
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = { error: { code: `HTTP_${response.status}`, message: response.statusText } };
    }
  }
  if (!response.ok) {
    if (response.status === 401 && path !== "/session") loggedOut("Your session ended: log in again.");
    throw new ApiError(response.status, data.error);
  }
  return data;
}

/** Run `action`; a refusal becomes a toast naming the reason, never a silent no-op. */
async function attempt(what, action) {
  try {
    const result = await action();
    return result;
  } catch (error) {
    toast(`${what}: ${error.message}`, true);
    return undefined;
  }
}

function table(columns, rows, empty) {
  if (!rows.length) return h("div", { class: "table-wrap" }, h("div", { class: "empty" }, empty));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "" }, c.title)))),
      h(
        "tbody",
        {},
        rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : "" }, c.cell(row))))),
      ),
    ),
  );
}

function metric(label, value, unit) {
  return h(
    "div",
    { class: "card metric" },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value, unit ? h("span", { class: "unit" }, unit) : null),
  );
}

function instrumentUnits(id) {
  const instrument = state.instruments.find((i) => i.id === id);
  return instrument ? { base: instrument.base, quote: instrument.quote } : { base: "", quote: "" };
}

function chart(container, { area = false } = {}) {
  const lib = window.LightweightCharts;
  const made = lib.createChart(container, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1b2430" },
    grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
    timeScale: { timeVisible: true, secondsVisible: true },
    localization: { locale: "en-US" },
  });
  const series = area
    ? made.addSeries(lib.AreaSeries, { lineColor: "#1f5fbf", topColor: "rgba(31,95,191,0.25)", bottomColor: "rgba(31,95,191,0.02)", lineWidth: 2 })
    : made.addSeries(lib.LineSeries, { color: "#1f3b57", lineWidth: 2 });
  return { chart: made, series };
}

function pushPoint(points, time, value, limit) {
  const last = points[points.length - 1];
  if (last && last.time === time) last.value = value;
  else if (!last || last.time < time) points.push({ time, value });
  if (points.length > limit) points.splice(0, points.length - limit);
}

function stream(path, handlers) {
  const source = new EventSource(API + path);
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      if (event.data) handler(JSON.parse(event.data));
    });
  }
  source.addEventListener("error", (event) => {
    if (event.data) toast(`live ${path.split("/").pop()}: ${JSON.parse(event.data).error.message}`, true);
  });
  return source;
}

// -- pages -------------------------------------------------------------------------------------

const pages = {};

pages.overview = {
  title: "Overview",
  async render(root) {
    const [status, account, history] = await Promise.all([
      api("GET", "/status"),
      api("GET", "/account"),
      api("GET", "/account/equity-history"),
    ]);
    const a = account.account || {};
    state.currency = a.valuation_currency || state.currency;
    const curve = (history.points || []).map((p) => ({ time: Math.floor(Date.parse(p.time) / 1000), value: Number(p.equity) }));
    const cur = state.currency;
    const trading = status.trading_state || "TRADING_STATE_UNSPECIFIED";
    const kind = trading.endsWith("ACTIVE") ? "ok" : trading.endsWith("HALTED") ? "crit" : "warn";
    fill(root, 
      h("h1", {}, "Overview ", h("span", { class: `badge ${kind}`, id: "trading-state" }, short(trading, "TRADING_STATE_")),
        status.trading_reason ? h("span", { class: "note" }, "  " + status.trading_reason) : null),
      h("div", { class: "cards" },
        metric("Equity", dec(a.equity, 2), cur),
        metric("Realized P&L", signed(a.realized_pnl, 2), cur),
        metric("Unrealized P&L", signed(a.unrealized_pnl, 2), cur),
        metric("Fees", dec(a.fees, 2), cur),
        metric("Drawdown", h("span", {}, dec(a.drawdown, 2), h("span", { class: "unit" }, `${cur} · ${pct(a.drawdown_fraction)}`))),
        metric("Orders sent", dec((status.counters || {}).orders_submitted || "0", 0)),
        metric("Fills", dec((status.counters || {}).fills || "0", 0))),
      a.unvalued_reason ? h("p", { class: "note" }, "Not valued: " + a.unvalued_reason) : null,
      h("h2", {}, "Equity ", h("span", { class: "note" }, `(${cur}, one point per ${history.step_seconds || 10} s since the engine started)`)),
      h("div", { class: "chart", id: "equity-chart" }),
      h("div", { class: "split" },
        h("div", {},
          h("h2", {}, "Feeds"),
          table(
            [
              { title: "Feed", cell: (f) => f.name },
              { title: "State", cell: (f) => h("span", { class: `badge ${f.connected ? "ok" : "crit"}` }, f.connected ? "connected" : "down") },
              { title: "Last message", cell: (f) => when(f.last_message_time) },
              { title: "Messages", num: true, cell: (f) => dec(f.messages || "0", 0) },
              { title: "Reconnects", num: true, cell: (f) => dec(f.reconnects || "0", 0) },
            ],
            status.feeds || [],
            "No feeds.",
          )),
        h("div", {},
          h("h2", {}, "Alerts"),
          (status.alerts || []).length
            ? h("ul", { class: "alerts card" }, status.alerts.map((al) => h("li", {},
                h("span", { class: `badge ${al.severity === "ALERT_SEVERITY_CRITICAL" ? "crit" : "warn"}` }, short(al.severity, "ALERT_SEVERITY_")),
                " ", h("strong", {}, al.name), " ", al.summary)))
            : h("p", { class: "card note", id: "no-alerts" }, "No active alerts."))),
    );
    const { chart: equityChart, series } = chart(document.getElementById("equity-chart"), { area: true });
    series.setData(curve);
    equityChart.timeScale().fitContent();
  },
};

pages.positions = {
  title: "Positions",
  async render(root) {
    const data = await api("GET", "/positions");
    const cur = state.currency;
    fill(root, 
      h("h1", {}, "Positions"),
      table(
        [
          { title: "Instrument", cell: (p) => p.instrument_id },
          { title: "Quantity", num: true, cell: (p) => signed(p.quantity) },
          { title: "Avg entry", num: true, cell: (p) => dec(p.avg_entry_price, 2) },
          { title: "Mark", num: true, cell: (p) => dec(p.mark_price, 2) },
          { title: `Notional (${cur})`, num: true, cell: (p) => dec(p.notional, 2) },
          { title: `Unrealized (${cur})`, num: true, cell: (p) => signed(p.unrealized_pnl, 2) },
          { title: `Realized (${cur})`, num: true, cell: (p) => signed(p.realized_pnl, 2) },
          { title: `Fees (${cur})`, num: true, cell: (p) => dec(p.fees, 2) },
          { title: "Updated", cell: (p) => when(p.update_time) },
        ],
        data.positions || [],
        "No open positions.",
      ),
    );
  },
};

pages.orders = {
  title: "Orders",
  async render(root) {
    fill(root, h("h1", {}, "Working orders"), can("trader") ? ticket() : null, h("div", { id: "orders-body" }));
    await this.refresh();
  },
  async refresh() {
    const data = await api("GET", "/orders?open_only=true&page_size=200");
    const orders = data.orders || [];
    const target = document.getElementById("orders-body");
    if (!target) return;
    fill(target, 
      can("trader") && orders.length
        ? h("p", {}, h("button", { class: "danger", id: "cancel-all", onclick: cancelAll }, `Cancel all ${orders.length}`))
        : null,
      table(
        [
          { title: "Client order id", cell: (o) => o.client_order_id },
          { title: "Instrument", cell: (o) => o.instrument_id },
          { title: "Side", cell: (o) => short(o.side, "SIDE_") },
          { title: "Type", cell: (o) => short(o.type, "ORDER_TYPE_") },
          { title: "Quantity", num: true, cell: (o) => dec(o.quantity) },
          { title: "Filled", num: true, cell: (o) => dec(o.filled_quantity || "0") },
          { title: "Price", num: true, cell: (o) => dec(o.price, 2) },
          { title: "Status", cell: (o) => short(o.status, "ORDER_STATUS_") },
          { title: "Strategy", cell: (o) => o.strategy_id || "manual" },
          { title: "Created", cell: (o) => when(o.create_time) },
          can("trader")
            ? { title: "", cell: (o) => h("button", { class: "secondary", "data-cancel": o.client_order_id, onclick: () => cancelOrder(o.client_order_id) }, "Cancel") }
            : null,
        ].filter(Boolean),
        orders,
        "No working orders.",
      ),
    );
  },
};

function ticket() {
  const options = state.instruments.map((i) => h("option", { value: i.id }, i.id));
  const form = h(
    "form",
    { class: "inline card", id: "order-ticket" },
    h("label", {}, "Instrument", h("select", { name: "instrument_id" }, options)),
    h("label", {}, "Side", h("select", { name: "side" }, h("option", { value: "SIDE_BUY" }, "buy"), h("option", { value: "SIDE_SELL" }, "sell"))),
    h("label", {}, "Type", h("select", { name: "type" }, h("option", { value: "ORDER_TYPE_LIMIT" }, "limit"), h("option", { value: "ORDER_TYPE_MARKET" }, "market"))),
    h("label", {}, "Quantity", h("input", { name: "quantity", class: "num", inputmode: "decimal", required: true })),
    h("label", {}, "Limit price", h("input", { name: "price", class: "num", inputmode: "decimal" })),
    h("button", { type: "submit" }, "Submit order"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const order = {
      client_order_id: "web-" + crypto.randomUUID().replaceAll("-", "").slice(0, 20),
      instrument_id: values.instrument_id,
      side: values.side,
      type: values.type,
      quantity: values.quantity.trim(),
    };
    if (values.type === "ORDER_TYPE_LIMIT") order.price = values.price.trim();
    const done = await attempt("Order", () => api("POST", "/orders", order));
    if (done) {
      toast(`Order ${order.client_order_id}: ${short(done.order && done.order.status, "ORDER_STATUS_")}`);
      refresh();
    }
  });
  return form;
}

async function cancelOrder(id) {
  const done = await attempt(`Cancel ${id}`, () => api("DELETE", `/orders/${encodeURIComponent(id)}`));
  if (done) {
    toast(`Cancel asked for ${id}`);
    refresh();
  }
}

async function cancelAll() {
  if (!confirm("Cancel every working order?")) return;
  const done = await attempt("Cancel all", () => api("POST", "/orders/cancel-all", {}));
  if (done) {
    toast(`Cancel asked for ${(done.orders || done.canceled_orders || []).length} orders`);
    refresh();
  }
}

pages.fills = {
  title: "Fills",
  async render(root) {
    const data = await api("GET", "/fills?page_size=500");
    const fills = (data.fills || []).slice().sort((a, b) => String(b.time).localeCompare(String(a.time)));
    fill(root, 
      h("h1", {}, "Fills"),
      table(
        [
          { title: "Time", cell: (f) => when(f.time) },
          { title: "Instrument", cell: (f) => f.instrument_id },
          { title: "Side", cell: (f) => short(f.side, "SIDE_") },
          { title: "Quantity", num: true, cell: (f) => dec(f.quantity) },
          { title: "Price", num: true, cell: (f) => dec(f.price, 2) },
          { title: "Fee", num: true, cell: (f) => h("span", {}, dec(f.fee), h("span", { class: "unit" }, " " + (f.fee_asset || state.currency))) },
          { title: "Liquidity", cell: (f) => short(f.liquidity, "LIQUIDITY_SIDE_") },
          { title: "Order", cell: (f) => f.client_order_id },
          { title: "Strategy", cell: (f) => f.strategy_id || "manual" },
        ],
        fills,
        "No fills yet.",
      ),
    );
  },
};

pages.strategies = {
  title: "Strategies",
  async render(root) {
    const data = await api("GET", "/strategies");
    const strategies = data.strategies || [];
    fill(root, 
      h("h1", {}, "Strategies"),
      table(
        [
          { title: "Strategy", cell: (s) => s.id },
          { title: "Kind", cell: (s) => s.kind },
          { title: "Instruments", cell: (s) => (s.instrument_ids || []).join(", ") },
          { title: "State", cell: (s) => h("span", { class: `badge ${s.active ? "ok" : "warn"}` }, s.active ? (s.ready ? "running" : "warming up") : "stopped") },
          { title: "Signals", num: true, cell: (s) => dec(s.signals || "0", 0) },
          { title: "Parameters", cell: (s) => params(s) },
          can("trader")
            ? { title: "", cell: (s) => h("button", { class: s.active ? "secondary" : "", "data-toggle": s.id, onclick: () => toggleStrategy(s) }, s.active ? "Stop" : "Start") }
            : null,
        ].filter(Boolean),
        strategies,
        "No strategies configured.",
      ),
      strategies.some((s) => s.error) ? h("p", { class: "error" }, strategies.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`).join("; ")) : null,
    );
  },
};

function params(strategy) {
  const entries = Object.entries(strategy.parameters || {}).sort();
  if (!can("trader")) return entries.map(([k, v]) => `${k}=${v}`).join(", ") || "—";
  const form = h(
    "form",
    { class: "inline", "data-params": strategy.id },
    entries.map(([k, v]) => h("label", {}, k, h("input", { name: k, value: v, class: "num" }))),
    entries.length ? h("button", { type: "submit", class: "secondary" }, "Save") : null,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const parameters = Object.fromEntries(new FormData(form));
    const path = `/strategies/${encodeURIComponent(strategy.id)}/params`;
    const done = await attempt(`Parameters of ${strategy.id}`, () => api("PATCH", path, { parameters }));
    if (done) {
      toast(`Parameters of ${strategy.id} saved`);
      state.page.dirty = false;
      refresh();
    }
  });
  return form;
}

async function toggleStrategy(strategy) {
  const verb = strategy.active ? "stop" : "start";
  const done = await attempt(`${verb} ${strategy.id}`, () => api("POST", `/strategies/${encodeURIComponent(strategy.id)}/${verb}`, {}));
  if (done) {
    toast(`${strategy.id}: ${verb === "stop" ? "stopped" : "started"}`);
    refresh();
  }
}

const LIMITS = [
  ["max_order_quantity", "Max order quantity"],
  ["max_order_notional", "Max order notional"],
  ["max_position_quantity", "Max position quantity"],
  ["max_gross_exposure", "Max gross exposure"],
  ["price_band_fraction", "Price band (fraction)"],
  ["max_orders_per_window", "Max orders per window"],
  ["window_ns", "Window (ns)"],
  ["max_open_orders", "Max open orders"],
  ["max_data_age_ns", "Max data age (ns)"],
  ["daily_loss_limit", "Daily loss limit"],
  ["max_drawdown_fraction", "Max drawdown (fraction)"],
];

pages.risk = {
  title: "Risk",
  async render(root) {
    const data = await api("GET", "/risk");
    const limits = data.limits || {};
    const s = data.state || {};
    const trading = s.state || "TRADING_STATE_UNSPECIFIED";
    const kind = trading.endsWith("ACTIVE") ? "ok" : trading.endsWith("HALTED") ? "crit" : "warn";
    const cur = state.currency;
    const admin = can("admin");
    const limitsForm = h(
      "form",
      { id: "limits-form", class: "narrow" },
      table(
        [
          { title: "Limit", cell: ([, label]) => label },
          {
            title: "Value",
            num: true,
            cell: ([key]) => (admin ? h("input", { name: key, value: limits[key] ?? "", class: "num", placeholder: "none" }) : dec(limits[key])),
          },
        ],
        LIMITS,
        "",
      ),
      admin ? h("p", {}, h("button", { type: "submit" }, "Save limits"), h("span", { class: "note" }, "  An empty field removes that limit.")) : null,
    );
    limitsForm.addEventListener("submit", saveLimits);
    fill(root, 
      h("h1", {}, "Risk ", h("span", { class: `badge ${kind}`, id: "risk-state" }, short(trading, "TRADING_STATE_"))),
      s.reason || s.message ? h("p", {}, [s.reason, s.message].filter(Boolean).join(": ")) : null,
      h("div", { class: "cards" },
        metric("Daily P&L", signed(s.daily_pnl, 2), cur),
        metric("Equity", dec(s.equity, 2), cur),
        metric("Peak equity", dec(s.peak_equity, 2), cur),
        metric("Drawdown", pct(s.drawdown_fraction)),
        metric("Open orders", String(s.open_orders || 0))),
      admin ? haltControls(trading) : h("p", { class: "note" }, "Halting and resuming trading needs an admin token."),
      h("h2", {}, "Limits"),
      limitsForm,
    );
  },
};

function haltControls(trading) {
  if (trading.endsWith("HALTED")) {
    const form = h("form", { class: "inline card", id: "resume-form" },
      h("label", {}, h("span", {}, h("input", { type: "checkbox", name: "reset_peak" }), " take current equity as the new peak")),
      h("button", { type: "submit" }, "Resume trading"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { reset_peak: form.elements.reset_peak.checked };
      if (await attempt("Resume", () => api("POST", "/risk/resume", body))) {
        toast("Trading resumed");
        refresh();
      }
    });
    return form;
  }
  const form = h("form", { class: "inline card", id: "halt-form" },
    h("label", {}, "Reason", h("input", { name: "reason", required: true, placeholder: "why" })),
    h("label", {}, h("span", {}, h("input", { type: "checkbox", name: "cancel_open_orders", checked: true }), " cancel working orders")),
    h("button", { type: "submit", class: "danger" }, "Halt trading"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { reason: form.elements.reason.value, cancel_open_orders: form.elements.cancel_open_orders.checked };
    if (await attempt("Halt", () => api("POST", "/risk/halt", body))) {
      toast("Trading halted");
      refresh();
    }
  });
  return form;
}

async function saveLimits(event) {
  event.preventDefault();
  const limits = {};
  const clear = [];
  for (const [key, value] of new FormData(event.target)) {
    if (String(value).trim() === "") clear.push(key);
    else limits[key] = String(value).trim();
  }
  if (await attempt("Limits", () => api("PATCH", "/risk/limits", { limits, clear }))) {
    toast("Risk limits saved");
    state.page.dirty = false;
    refresh();
  }
}

pages.market = {
  title: "Market",
  async render(root) {
    const ids = state.instruments.map((i) => i.id);
    const wanted = new URLSearchParams(location.hash.split("?")[1] || "").get("instrument");
    const id = ids.includes(wanted) ? wanted : ids[0];
    if (!id) {
      fill(root, h("h1", {}, "Market"), h("p", { class: "note" }, "No instruments."));
      return;
    }
    const select = h("select", { id: "instrument", onchange: (e) => { location.hash = `#/market?instrument=${encodeURIComponent(e.target.value)}`; } },
      ids.map((i) => h("option", { value: i, selected: i === id }, i)));
    const units = instrumentUnits(id);
    fill(root, 
      h("h1", {}, "Market ", select),
      h("div", { class: "split" },
        h("div", {},
          h("div", { class: "chart", id: "price-chart" }),
          h("p", { class: "note" }, `Last trade price (${units.quote}) per second since this page opened; B and S mark this engine's buys and sells.`)),
        h("div", {}, h("h2", {}, "Book"), h("div", { id: "book" }))),
    );
    const { chart: priceChart, series } = chart(document.getElementById("price-chart"));
    const points = [];
    const markers = window.LightweightCharts.createSeriesMarkers(series, []);
    const fillMarks = [];
    const fills = await api("GET", `/fills?instrument_id=${encodeURIComponent(id)}&page_size=200`);
    const known = (fills.fills || []).map((f) => ({ time: Math.floor(Date.parse(f.time) / 1000), fill: f }));
    const draw = () => {
      series.setData(points);
      priceChart.timeScale().fitContent();
      const first = points.length ? points[0].time : Infinity;
      markers.setMarkers(fillMarks.concat(known).filter((m) => m.time >= first).sort((a, b) => a.time - b.time).map(markerOf));
    };
    state.pageStreams.push(
      stream(`/stream/trades?instrument_ids=${encodeURIComponent(id)}`, {
        trades: (message) => {
          const t = message.trade;
          if (!t) return;
          pushPoint(points, Math.floor(Date.parse(t.time) / 1000), Number(t.price), PRICE_POINTS);
          draw();
        },
      }),
      stream(`/stream/orders?instrument_id=${encodeURIComponent(id)}`, {
        orders: (message) => {
          const fill = message.event && message.event.fill;
          if (!fill) return;
          const time = Math.floor(Date.parse(fill.time) / 1000);
          pushPoint(points, time, Number(fill.price), PRICE_POINTS);
          fillMarks.push({ time, fill });
          draw();
        },
      }),
    );
    state.page.cleanup = () => priceChart.remove();
    await book(id);
  },
  async refresh() {
    const select = document.getElementById("instrument");
    if (select) await book(select.value);
  },
};

function markerOf({ time, fill }) {
  const buy = fill.side === "SIDE_BUY";
  return {
    time,
    position: buy ? "belowBar" : "aboveBar",
    color: buy ? "#1f5fbf" : "#c2510c",
    shape: buy ? "arrowUp" : "arrowDown",
    text: buy ? "B" : "S",
  };
}

async function book(id) {
  const target = document.getElementById("book");
  if (!target) return;
  let data;
  try {
    data = await api("GET", `/instruments/${encodeURIComponent(id)}/book?depth=10`);
  } catch (error) {
    fill(target, h("p", { class: "note" }, `No book: ${error.message}`));
    return;
  }
  const { base, quote } = instrumentUnits(id);
  const asks = (data.asks || []).slice().reverse().map((l) => ({ ...l, side: "ask" }));
  const bids = (data.bids || []).map((l) => ({ ...l, side: "bid" }));
  fill(target, 
    table(
      [
        { title: "", cell: (l) => h("span", { class: l.side === "ask" ? "loss" : "gain" }, l.side) },
        { title: `Price (${quote})`, num: true, cell: (l) => dec(l.price, 2) },
        { title: `Size (${base})`, num: true, cell: (l) => dec(l.size) },
      ],
      asks.concat(bids),
      "The book is empty.",
    ),
    h("p", { class: "note" }, `as of ${when(data.time)}`),
  );
}

pages.backtests = {
  title: "Backtests",
  async render(root) {
    const data = await api("GET", "/backtests?limit=50");
    const runs = data.runs || [];
    const wanted = new URLSearchParams(location.hash.split("?")[1] || "").get("run");
    fill(root, 
      h("h1", {}, "Backtests"),
      can("trader") ? launcher() : null,
      h("div", { id: "report" }),
      h("h2", {}, "Stored runs"),
      table(
        [
          { title: "Run", cell: (r) => h("a", { href: `#/backtests?run=${encodeURIComponent(r.run_id)}` }, r.run_id.slice(0, 12)) },
          { title: "Stored", cell: (r) => when(r.create_time) },
          { title: "Strategy", cell: (r) => r.strategy },
          { title: "Instrument", cell: (r) => r.instrument_id },
          { title: "Events", num: true, cell: (r) => dec(r.events || "0", 0) },
          { title: "Return", num: true, cell: (r) => pct(r.total_return) },
          { title: "Max drawdown", num: true, cell: (r) => pct(r.max_drawdown || 0) },
          { title: "Sharpe", num: true, cell: (r) => (r.sharpe_ratio === undefined ? "—" : r.sharpe_ratio.toFixed(2)) },
          { title: "Trades", num: true, cell: (r) => dec(r.trade_count || "0", 0) },
        ],
        runs,
        "No stored runs yet.",
      ),
    );
    if (wanted) await report(wanted);
  },
  refresh() {}, // a report or a run in progress is not redrawn under the reader
};

function launcher() {
  const form = h(
    "form",
    { class: "inline card", id: "backtest-form" },
    h("label", {}, "Data files (server side, comma separated)", h("input", { name: "data", required: true, size: 40, placeholder: "BTCUSDT-1m-2024-01-01.csv.gz" })),
    h("label", {}, "Strategy", h("input", { name: "strategy", value: "sma_crossover", required: true })),
    h("label", {}, "Parameters (k=v, comma separated)", h("input", { name: "params", placeholder: "fast=10, slow=30" })),
    h("label", {}, "Capital", h("input", { name: "capital", class: "num", value: "10000" })),
    h("button", { type: "submit" }, "Run backtest"),
    h("span", { class: "progress", id: "backtest-progress" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const params = {};
    for (const pair of String(values.params || "").split(",")) {
      const [k, v] = pair.split("=").map((x) => (x || "").trim());
      if (k) params[k] = v || "";
    }
    const body = {
      data: String(values.data).split(",").map((x) => x.trim()).filter(Boolean),
      strategy: values.strategy.trim(),
      params,
      capital: values.capital.trim(),
      store: true,
    };
    const progress = document.getElementById("backtest-progress");
    progress.textContent = "starting…";
    const response = await attempt("Backtest", () => api("POST", "/backtests", body, "text/event-stream"));
    if (!response) {
      progress.textContent = "";
      return;
    }
    const result = await readEvents(response, (event, data) => {
      if (event === "progress") progress.textContent = `${dec(data.progress ? data.progress.events : data.events || "0", 0)} events replayed`;
      if (event === "error") toast(`Backtest: ${data.error.message}`, true);
    });
    progress.textContent = result ? "done" : "failed";
    const run = result && (result.result || result).run_id;
    if (run) location.hash = `#/backtests?run=${encodeURIComponent(run)}`;
  });
  return form;
}

/** Read a Server-Sent Events body; `on(event, data)` per event; the `result` event's data. */
async function readEvents(response, on) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let result = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const lines = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) lines.push(line.slice(5).trim());
      }
      if (!lines.length) continue;
      const data = JSON.parse(lines.join("\n"));
      if (event === "result") result = data;
      on(event, data);
    }
  }
  return result;
}

/** A column of the round-trip table: `*_ts` (nanoseconds) as times, numbers right-aligned. */
function tradeColumn(key, sample) {
  const numeric = (value) => /^-?[\d.]+$/.test(String(value));
  if (key.endsWith("_ts") && numeric(sample)) {
    return { title: key.replace(/_ts$/, " time").replaceAll("_", " "), cell: (t) => when(Math.floor(Number(t[key]) / 1e6)) };
  }
  return {
    title: key.replaceAll("_", " "),
    num: numeric(sample),
    cell: (t) => (numeric(t[key]) ? dec(String(t[key])) : String(t[key] ?? "")),
  };
}

async function report(runId) {
  const target = document.getElementById("report");
  let data;
  try {
    data = await api("GET", `/backtests/${encodeURIComponent(runId)}`);
  } catch (error) {
    fill(target, h("p", { class: "error" }, `Run ${runId}: ${error.message}`));
    return;
  }
  const s = data.summary || {};
  const m = data.metrics || {};
  let trades = [];
  try {
    trades = JSON.parse(data.trades_json || "[]");
  } catch {
    trades = [];
  }
  const columns = trades.length ? Object.keys(trades[0]).filter((k) => typeof trades[0][k] !== "object") : [];
  fill(target, 
    h("h2", {}, `Run ${runId.slice(0, 12)}: ${s.strategy} on ${s.instrument_id}`),
    h("p", { class: "note" }, `${(s.data || []).join(", ")}; ${when(s.first_event_time)} to ${when(s.last_event_time)}; parameters ${Object.entries(s.params || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "default"}`),
    h("div", { class: "cards" },
      metric("Starting capital", dec(m.starting_capital, 2)),
      metric("Final equity", dec(m.final_equity, 2)),
      metric("Net profit", signed(m.net_profit, 2)),
      metric("Total return", pct(m.total_return)),
      metric("Max drawdown", pct(m.max_drawdown || 0)),
      metric("Sharpe", m.sharpe_ratio === undefined ? "—" : m.sharpe_ratio.toFixed(2)),
      metric("Trades", dec(m.trade_count || "0", 0)),
      metric("Win rate", m.win_rate === undefined ? "—" : pct(m.win_rate)),
      metric("Fees", dec(m.fees_paid, 2))),
    h("h2", {}, `Round trips (${trades.length})`),
    table(columns.map((k) => tradeColumn(k, trades[0][k])), trades.slice(0, 500), "No round trips."),
  );
}

// -- the frame: login, navigation, refresh, live events ----------------------------------------

function loggedOut(message) {
  state.session = null;
  stopLive();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("page").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("token").focus();
}

async function loggedIn(session) {
  state.session = session;
  document.body.dataset.role = session.role;
  document.getElementById("login").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = `${session.name} · ${session.role}`;
  const [instruments, account] = await Promise.all([api("GET", "/instruments"), api("GET", "/account")]);
  state.instruments = instruments.instruments || [];
  state.currency = (account.account || {}).valuation_currency || "";
  startLive();
  await show();
}

function startLive() {
  stopLive();
  const live = document.getElementById("live");
  state.orders = stream("/stream/orders", {
    orders: (message) => {
      const event = message.event || {};
      if (event.fill) {
        const f = event.fill;
        toast(`Fill: ${short(f.side, "SIDE_")} ${dec(f.quantity)} ${f.instrument_id} @ ${dec(f.price, 2)}`);
      }
      if (["positions", "orders", "fills", "overview"].includes(state.page && state.page.name)) refresh();
    },
  });
  state.orders.addEventListener("open", () => live.classList.remove("off"));
  state.orders.addEventListener("error", () => live.classList.add("off"));
  state.timer = setInterval(refresh, REFRESH_MS);
}

function stopLive() {
  if (state.orders) state.orders.close();
  state.orders = null;
  clearInterval(state.timer);
  state.timer = null;
  closePageStreams();
}

function closePageStreams() {
  for (const source of state.pageStreams) source.close();
  state.pageStreams = [];
  if (state.page && state.page.cleanup) state.page.cleanup();
}

let refreshing = false;
let pending = null;
/** Redraw the page's data, at most twice a second; never under a form being filled in. */
function refresh() {
  if (pending === null) pending = setTimeout(() => { pending = null; redraw(); }, 500);
}

async function redraw() {
  if (!state.session || !state.page || refreshing) return;
  const page = pages[state.page.name];
  if (state.page.dirty && !page.refresh) return;
  refreshing = true;
  try {
    if (page.refresh) await page.refresh();
    else await page.render(document.getElementById("page"));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) toast(`${page.title}: ${error.message}`, true);
  } finally {
    refreshing = false;
  }
}

async function show() {
  if (!state.session) return;
  const name = (location.hash.replace(/^#\//, "").split("?")[0] || "overview").toLowerCase();
  const key = pages[name] ? name : "overview";
  closePageStreams();
  state.page = { name: key, dirty: false };
  document.title = `${pages[key].title} · tradeplane`;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("current", link.getAttribute("href") === `#/${key}`);
  const root = document.getElementById("page");
  root.hidden = false;
  fill(root, h("p", { class: "note" }, "Loading…"));
  refreshing = true;
  try {
    await pages[key].render(root);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) fill(root, h("p", { class: "error" }, `${pages[key].title}: ${error.message}`));
  } finally {
    refreshing = false;
  }
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = document.getElementById("token");
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    const session = await api("POST", "/session", { token: field.value });
    field.value = "";
    await loggedIn(session);
  } catch (failure) {
    error.textContent = failure.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await api("DELETE", "/session").catch(() => {});
  loggedOut("Logged out.");
});

window.addEventListener("hashchange", show);
document.getElementById("page").addEventListener("input", (event) => {
  // Edits to limits or parameters are kept from redraws until saved (or the page is left).
  if (state.page && event.target.closest("#limits-form, form[data-params]")) state.page.dirty = true;
});

(async () => {
  try {
    await loggedIn(await api("GET", "/session"));
  } catch {
    loggedOut("");
  }
})();
