// The comparison peer: dargah's main menu -> loan status -> tracking-code prompt -> end screen,
// on ussd-menu-builder, one menu object per request (as its users write it with express), and its
// session handler backed by Redis (127.0.0.1:6379) or by a plain object in memory.
//
//   node menu.js --port 18102 --store redis|memory [--redis-port 6379] [--workers 2]
//
// With --workers N, node's cluster module runs N processes on the port (its own users' way to use
// more than one core): the primary hands connections to them round robin.
// Per hop: session.start() (Redis EXPIRE, refreshing the TTL), then one session write in every state
// (HSET + EXPIRE in one MULTI), and one read on the prompt (HGET): 2 round trips, 3 on the prompt.
'use strict';

const http = require('node:http');
const UssdMenu = require('ussd-menu-builder');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const PORT = Number(arg('port', '18102'));
const STORE = arg('store', 'redis');
const REDIS_PORT = Number(arg('redis-port', '6379'));
const WORKERS = Number(arg('workers', '1'));
const TTL_S = 180;

const cluster = require('node:cluster');
if (WORKERS > 1 && cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i += 1) cluster.fork();
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      for (const worker of Object.values(cluster.workers)) worker.kill(sig);
      process.exit(0);
    });
  }
  return; // the primary only hands connections to the workers
}

// The same screens, in the same words, as dargah's Persian menu.
const HOME = '۱ پیگیری ثبت‌نام\n۲ بازیابی رمز\n۳ تسهیلات\n۴ ثبت اعتراض\n۵ درخواست‌های من\n۹ English';
const LOANS = 'وضعیت تسهیلات\n۱ با کد رهگیری\n۲ درخواست‌های من\n۰ بازگشت ۰۰ خانه';
const PROMPT = 'کد رهگیری ۸ رقمی را وارد کنید:\n۰ بازگشت ۰۰ خانه';
const NOT_FOUND = 'درخواستی با این کد رهگیری برای شماره شما یافت نشد.';

function redisStore() {
  const Redis = require('ioredis');
  const redis = new Redis({ host: '127.0.0.1', port: REDIS_PORT, enableAutoPipelining: false });
  const key = (id) => `bench:ussd:${id}`;
  return {
    start: (id) => redis.expire(key(id), TTL_S),
    end: (id) => redis.del(key(id)),
    // One round trip per write: the field and the TTL in one MULTI.
    set: (id, k, v) => redis.multi().hset(key(id), k, v).expire(key(id), TTL_S).exec(),
    get: (id, k) => redis.hget(key(id), k),
  };
}

function memoryStore() {
  const sessions = new Map();
  const slot = (id) => {
    let s = sessions.get(id);
    if (s === undefined) {
      s = {};
      sessions.set(id, s);
    }
    return s;
  };
  return {
    start: (id, cb) => { slot(id); cb(); },
    end: (id, cb) => { sessions.delete(id); cb(); },
    set: (id, k, v, cb) => { slot(id)[k] = v; cb(); },
    get: (id, k, cb) => { cb(null, slot(id)[k]); },
  };
}

const store = STORE === 'memory' ? memoryStore() : redisStore();

function buildMenu() {
  const menu = new UssdMenu();
  menu.sessionConfig(store);
  menu.startState({
    run: () => menu.session.set('node', 'home').then(() => menu.con(HOME)),
    next: { '3': 'loans', '۳': 'loans' },
  });
  menu.state('loans', {
    run: () => menu.session.set('service', 'loans').then(() => menu.con(LOANS)),
    next: { '1': 'loans.code', '۱': 'loans.code' },
  });
  menu.state('loans.code', {
    run: () =>
      menu.session
        .get('service')
        .then((service) => menu.session.set('node', `${service}.code`))
        .then(() => menu.con(PROMPT)),
    next: { '*\\d{8}': 'loans.result' },
  });
  menu.state('loans.result', {
    run: () => menu.end(NOT_FOUND),
  });
  return menu;
}

function answer(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    answer(res, 405, 'POST only');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const args = {
      sessionId: form.get('sessionId'),
      serviceCode: form.get('serviceCode'),
      phoneNumber: form.get('phoneNumber'),
      text: form.get('text') || '',
    };
    if (!args.sessionId || !args.phoneNumber) {
      answer(res, 400, 'missing fields');
      return;
    }
    const menu = buildMenu();
    menu.on('error', (err) => answer(res, 500, `END ${err.message}`));
    menu.run(args).then(
      (text) => answer(res, 200, text),
      (err) => answer(res, 500, `END ${err.message}`),
    );
  });
});

server.keepAliveTimeout = 65000;
server.listen(PORT, '127.0.0.1', () => {
  console.log(`peer (${STORE}) listening on 127.0.0.1:${PORT}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
