#!/usr/bin/env node
// A Node.js client of the tradeplane control plane, as any other-language user would write it:
// it loads the .proto files (no generated code), then checks, against a running engine,
//   1. EngineService/GetStatus answers (it waits until the engine runs and has market data),
//   2. a MARKET order submitted over SubmitOrder shows up FILLED on StreamOrderEvents, with a
//      fill quantity equal to the submitted one (exact decimal strings),
//   3. a malformed order (quantity "-1") is INVALID_ARGUMENT,
//   4. a call without a token is UNAUTHENTICATED.
// On success it prints one JSON line ({"ok": true, ...}) and exits 0; on any failure it prints
// the reason to stderr and exits 1.
//
// Usage: node client.js [HOST:PORT] [TOKEN]
//   or set TRADEPLANE_GRPC_ADDRESS and TRADEPLANE_TOKEN (TRADEPLANE_ADMIN_TOKEN also works).
//   TRADEPLANE_PROTO_DIR overrides where the .proto files are (default: <repo>/proto).
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const INSTRUMENT = 'BTCUSDT.BINANCE';
const QUANTITY = '0.001'; // the demo's lot size and minimum quantity
const CALL_TIMEOUT_MS = 5000;
const FILL_TIMEOUT_MS = 10000;
const SUBSCRIBE_TIMEOUT_MS = 5000;
const READY_TIMEOUT_MS = 15000;

function fail(message) {
  const error = new Error(message);
  error.clientFailure = true;
  throw error;
}

function settings() {
  const address = process.argv[2] || process.env.TRADEPLANE_GRPC_ADDRESS;
  const token = process.argv[3] || process.env.TRADEPLANE_TOKEN || process.env.TRADEPLANE_ADMIN_TOKEN;
  if (!address || !token) {
    fail('usage: node client.js HOST:PORT TOKEN (or TRADEPLANE_GRPC_ADDRESS and TRADEPLANE_TOKEN)');
  }
  const protoDir = process.env.TRADEPLANE_PROTO_DIR || path.resolve(__dirname, '..', '..', '..', 'proto');
  return { address, token, protoDir };
}

function loadApi(protoDir) {
  const definition = protoLoader.loadSync(
    ['tradeplane/v1/engine.proto', 'tradeplane/v1/orders.proto'],
    { includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
  return grpc.loadPackageDefinition(definition).tradeplane.v1;
}

function deadline(ms = CALL_TIMEOUT_MS) {
  return new Date(Date.now() + ms);
}

// A unary call as a promise; rejects with the grpc-js ServiceError (error.code, error.details).
function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: deadline() }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

// Resolves with the ServiceError of a call that must fail; rejects when it succeeds.
async function expectError(client, method, request, metadata, wantCode, what) {
  try {
    await unary(client, method, request, metadata);
  } catch (error) {
    if (error.code !== wantCode) {
      fail(`${what}: expected status ${wantCode} (${grpc.status[wantCode]}), got ${error.code}: ${error.details}`);
    }
    return error;
  }
  return fail(`${what}: expected status ${wantCode} (${grpc.status[wantCode]}), but the call succeeded`);
}

// "0.0010" -> "0.001", "1.000" -> "1", "-0" -> "0": compare decimal strings exactly, without floats.
function normalizeDecimal(text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
  if (!match || (match[2] === '' && (match[3] === undefined || match[3] === ''))) {
    fail(`not a decimal string: ${JSON.stringify(text)}`);
  }
  const whole = match[2].replace(/^0+(?=\d)/, '') || '0';
  const fraction = (match[3] || '').replace(/0+$/, '');
  const digits = fraction ? `${whole}.${fraction}` : whole;
  const zero = /^0(\.0*)?$/.test(digits);
  return (match[1] === '-' && !zero ? '-' : '') + digits;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The control plane answers as soon as the process starts, a moment before the engine runs and
// sees its first trade (a MARKET order is refused, NO_MARKET_DATA, without a last price).
async function waitUntilTrading(engine, metadata) {
  const until = Date.now() + READY_TIMEOUT_MS;
  let status;
  do {
    status = await unary(engine, 'GetStatus', {}, metadata);
    if (status.running === true && BigInt(status.counters.trades_seen) > 0n) return status;
    await sleep(100);
  } while (Date.now() < until);
  return fail(`GetStatus: the engine was not running with market data within ${READY_TIMEOUT_MS} ms:`
    + ` ${JSON.stringify(status)}`);
}

// The server subscribes a stream when its handler first runs, which the client cannot see;
// GetStatus counts stream subscribers, so wait until ours is counted before trading.
async function waitForSubscriber(engine, metadata, baseline) {
  const until = Date.now() + SUBSCRIBE_TIMEOUT_MS;
  while (Date.now() < until) {
    const status = await unary(engine, 'GetStatus', {}, metadata);
    if (BigInt(status.counters.stream_subscribers) > baseline) return;
    await sleep(50);
  }
  fail(`StreamOrderEvents was not subscribed on the server within ${SUBSCRIBE_TIMEOUT_MS} ms`);
}

async function main() {
  const { address, token, protoDir } = settings();
  const api = loadApi(protoDir);
  const credentials = grpc.credentials.createInsecure();
  const engine = new api.EngineService(address, credentials);
  const orders = new api.OrderService(address, credentials);
  const metadata = new grpc.Metadata();
  metadata.add('authorization', `Bearer ${token}`);

  let stream = null;
  try {
    // 1. Status.
    const status = await waitUntilTrading(engine, metadata);
    const baseline = BigInt(status.counters.stream_subscribers);

    // 2. Watch order events, then trade.
    const clientOrderId = `node-${process.pid}-${Date.now()}`;
    const events = [];
    const filled = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no FILLED event for ${clientOrderId} within ${FILL_TIMEOUT_MS} ms;`
          + ` its events: ${JSON.stringify(events)}`)),
        FILL_TIMEOUT_MS,
      );
      stream = orders.StreamOrderEvents({ instrument_id: INSTRUMENT }, metadata);
      stream.on('data', (message) => {
        const event = message.event;
        if (!event || event.client_order_id !== clientOrderId) return;
        events.push({ status: event.status, fill_quantity: event.fill ? event.fill.quantity : null });
        if (event.status === 'ORDER_STATUS_FILLED') {
          clearTimeout(timer);
          resolve(event);
        } else if (['ORDER_STATUS_REJECTED', 'ORDER_STATUS_CANCELED', 'ORDER_STATUS_EXPIRED']
          .includes(event.status)) {
          clearTimeout(timer);
          reject(new Error(`order ${clientOrderId} ended ${event.status}: ${event.reason}`));
        }
      });
      stream.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`StreamOrderEvents failed: ${error.code} ${error.details}`));
      });
    });
    filled.catch(() => {}); // handled where awaited; avoids an unhandled rejection meanwhile
    await waitForSubscriber(engine, metadata, baseline);

    const submitted = await unary(orders, 'SubmitOrder', {
      client_order_id: clientOrderId,
      instrument_id: INSTRUMENT,
      side: 'SIDE_BUY',
      type: 'ORDER_TYPE_MARKET',
      quantity: QUANTITY,
    }, metadata);
    if (!submitted.order || submitted.order.client_order_id !== clientOrderId) {
      fail(`SubmitOrder returned another order: ${JSON.stringify(submitted)}`);
    }
    const event = await filled;
    const fills = events.filter((e) => e.fill_quantity !== null).map((e) => e.fill_quantity);
    if (fills.length === 0) fail(`FILLED event without a fill: ${JSON.stringify(event)}`);
    // Exact decimal sum is not needed for one market order of one lot: the paper broker fills it
    // at once, in a single fill.
    if (fills.length !== 1 || normalizeDecimal(fills[0]) !== normalizeDecimal(QUANTITY)) {
      fail(`fills of ${clientOrderId} were ${JSON.stringify(fills)}, expected one of ${QUANTITY}`);
    }
    stream.cancel();
    stream = null;

    // 3. Malformed input.
    const bad = await expectError(orders, 'SubmitOrder', {
      client_order_id: `${clientOrderId}-bad`,
      instrument_id: INSTRUMENT,
      side: 'SIDE_BUY',
      type: 'ORDER_TYPE_MARKET',
      quantity: '-1',
    }, metadata, grpc.status.INVALID_ARGUMENT, 'SubmitOrder with quantity "-1"');

    // 4. No token.
    const anonymous = await expectError(engine, 'GetStatus', {}, new grpc.Metadata(),
      grpc.status.UNAUTHENTICATED, 'GetStatus without a token');

    console.log(JSON.stringify({
      ok: true,
      mode: status.mode,
      client_order_id: clientOrderId,
      order_status: submitted.order.status,
      fill_quantity: fills[0],
      fill_price: event.fill.price,
      events: events.map((e) => e.status),
      invalid_argument: { code: bad.code, details: bad.details },
      unauthenticated: { code: anonymous.code, details: anonymous.details },
    }));
  } finally {
    if (stream !== null) stream.cancel();
    engine.close();
    orders.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    let why;
    if (error.clientFailure) why = error.message;
    else if (typeof error.code === 'number') why = `gRPC ${grpc.status[error.code]} (${error.code}): ${error.details}`;
    else why = error.stack || String(error);
    console.error(`client.js: FAILED: ${why}`);
    process.exit(1);
  },
);
