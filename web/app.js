// radixrt playground: chat with the server and watch its prefix cache.
// Plain browser JavaScript, no build step and no dependencies. Talks to the
// same origin: /v1/models, /v1/chat/completions, /v1/completions (SSE),
// /apply_chat_template + /v1/ws (WebSocket mode), /v1/cache, /v1/cache/flush.
'use strict';

const $ = (id) => document.getElementById(id);
const store = {
  get(k, d) { try { const v = localStorage.getItem('radixrt.' + k); return v === null ? d : JSON.parse(v); } catch { return d; } },
  set(k, v) { try { localStorage.setItem('radixrt.' + k, JSON.stringify(v)); } catch { /* private mode: keep in memory */ } },
};

const state = {
  model: null,
  key: store.get('key', ''),
  messages: store.get('messages', []), // {role, content, usage?}
  busy: null, // {abort(): void}
  history: [], // {t, hit, kv}
};

// ---------- HTTP helpers ----------

function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  if (state.key) h['Authorization'] = 'Bearer ' + state.key;
  return h;
}

async function api(path, body) {
  const res = await fetch(path, body === undefined
    ? { headers: headers(false) }
    : { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
  if (res.status === 401) { askKey(); throw new Error('this server needs an API key'); }
  const text = await res.text();
  let j = null;
  try { j = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw new Error((j && j.error && j.error.message) || text || res.statusText);
  return j;
}

function askKey() {
  $('key-form').hidden = false;
  $('api-key').focus();
}

function setStatus(text, bad) {
  const s = $('server-status');
  s.textContent = text;
  s.classList.toggle('bad', !!bad);
}

// ---------- conversation ----------

function save() { store.set('messages', state.messages); }

function usageLine(u) {
  if (!u) return '';
  // A stopped answer has no usage from the server: only what the page saw.
  const parts = u.prompt === undefined ? [] : [`prompt ${u.prompt}`, `cached ${u.cached}`, `completion ${u.completion}`];
  if (u.ttft !== undefined) parts.push(`TTFT ${u.ttft.toFixed(0)} ms`);
  if (u.tps !== undefined) parts.push(`${u.tps.toFixed(1)} tok/s`);
  if (u.finish) parts.push(u.finish);
  return parts.join(' · ');
}

function renderMessage(m) {
  const li = document.createElement('li');
  li.className = 'msg ' + m.role;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = m.role;
  const body = document.createElement('div');
  body.className = 'text';
  body.textContent = m.content;
  li.append(who, body);
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = usageLine(m.usage);
  li.append(meta);
  return li;
}

function renderMessages() {
  const ol = $('messages');
  ol.replaceChildren(...state.messages.map(renderMessage));
  ol.scrollTop = ol.scrollHeight;
}

function settings() {
  const num = (id) => { const v = $(id).value.trim(); return v === '' ? undefined : Number(v); };
  const p = {
    temperature: num('temperature'), top_p: num('top_p'), top_k: num('top_k'),
    min_p: num('min_p'), max_tokens: num('max_tokens'), seed: num('seed'),
  };
  const stop = $('stop').value.split('\n').filter((s) => s.length > 0);
  if (stop.length) p.stop = stop;
  for (const k of Object.keys(p)) if (p[k] === undefined || Number.isNaN(p[k])) delete p[k];
  return p;
}

function chatMessages() {
  const out = [];
  const sys = $('system').value.trim();
  if (sys) out.push({ role: 'system', content: sys });
  for (const m of state.messages) out.push({ role: m.role, content: m.content });
  return out;
}

// Reads an SSE body and calls onData with each event's parsed JSON.
async function readEvents(res, onData) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of ev.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
    }
  }
}

// Streams one answer over SSE; calls onText(piece) and returns the usage.
async function streamSSE(mode, onText) {
  const ctl = new AbortController();
  state.busy = { abort: () => ctl.abort() };
  const body = Object.assign({ model: state.model, stream: true, stream_options: { include_usage: true } }, settings());
  let path = '/v1/chat/completions';
  if (mode === 'chat') body.messages = chatMessages();
  else { path = '/v1/completions'; body.prompt = $('system').value + state.messages.map((m) => m.content).join(''); }
  const res = await fetch(path, { method: 'POST', headers: headers(true), body: JSON.stringify(body), signal: ctl.signal });
  if (res.status === 401) { askKey(); throw new Error('this server needs an API key'); }
  if (!res.ok) {
    const j = await res.json().catch(() => null);
    throw new Error((j && j.error && j.error.message) || res.statusText);
  }
  let usage = null, finish = null;
  await readEvents(res, (j) => {
    if (j.error) throw new Error(j.error.message);
    for (const c of j.choices || []) {
      const piece = mode === 'chat' ? (c.delta && c.delta.content) : c.text;
      if (piece) onText(piece);
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (j.usage) usage = j.usage;
  });
  return {
    prompt: usage ? usage.prompt_tokens : 0,
    cached: usage && usage.prompt_tokens_details ? usage.prompt_tokens_details.cached_tokens : 0,
    completion: usage ? usage.completion_tokens : 0,
    finish,
  };
}

// Streams one answer over the WebSocket: the chat template is rendered by
// /apply_chat_template, then the prompt goes out as a "generate" message.
async function streamWS(mode, onText) {
  let prompt;
  if (mode === 'chat') prompt = (await api('/apply_chat_template', { messages: chatMessages() })).prompt;
  else prompt = $('system').value + state.messages.map((m) => m.content).join('');
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
  const ws = state.key ? new WebSocket(url, ['radixrt.key.' + state.key]) : new WebSocket(url);
  return new Promise((resolve, reject) => {
    state.busy = { abort: () => { try { ws.send(JSON.stringify({ type: 'cancel', id: 1 })); } catch { ws.close(); } } };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'generate', id: 1, prompt, params: settings() }));
    ws.onerror = () => reject(new Error('WebSocket connection failed'));
    ws.onmessage = (e) => {
      const j = JSON.parse(e.data);
      if (j.type === 'token') onText(j.text);
      else if (j.type === 'done') {
        if (j.text) onText(j.text);
        ws.close();
        resolve({ prompt: j.usage.prompt_tokens, cached: j.usage.cached_tokens, completion: j.usage.completion_tokens, finish: j.finish_reason });
      } else if (j.type === 'error') { ws.close(); reject(new Error(j.error.message)); }
    };
  });
}

async function send() {
  const text = $('input').value;
  if (state.busy || !text.trim()) return;
  const mode = document.querySelector('input[name=mode]:checked').value;
  state.messages.push({ role: 'user', content: text });
  $('input').value = '';
  const answer = { role: 'assistant', content: '' };
  state.messages.push(answer);
  renderMessages();
  const li = $('messages').lastElementChild;
  const out = li.querySelector('.text');
  li.classList.add('streaming');
  $('send').disabled = true;
  $('stop-btn').disabled = false;
  const t0 = performance.now();
  let tFirst = null;
  const onText = (piece) => {
    if (tFirst === null) tFirst = performance.now();
    answer.content += piece;
    out.textContent = answer.content;
    $('messages').scrollTop = $('messages').scrollHeight;
  };
  try {
    const u = await ($('use-ws').checked ? streamWS(mode, onText) : streamSSE(mode, onText));
    const t1 = performance.now();
    if (tFirst !== null) u.ttft = tFirst - t0;
    if (tFirst !== null && u.completion > 1 && t1 > tFirst) u.tps = (u.completion - 1) / ((t1 - tFirst) / 1000);
    answer.usage = u;
  } catch (e) {
    if (e.name === 'AbortError') {
      answer.usage = { finish: 'stopped' };
      if (tFirst !== null) answer.usage.ttft = tFirst - t0;
    }
    else { answer.content += (answer.content ? '\n' : '') + '[error] ' + e.message; li.classList.add('error'); }
  } finally {
    state.busy = null;
    li.classList.remove('streaming');
    $('send').disabled = false;
    $('stop-btn').disabled = true;
    save();
    renderMessages();
    refreshCache();
  }
}

// ---------- the cache view ----------

function fmt(n) { return n >= 10000 ? (n / 1000).toFixed(1) + 'k' : String(n); }

function renderStats(c) {
  const used = c.evictable_tokens + c.protected_tokens;
  const rows = [
    ['hit ratio', c.hits ? (100 * c.hits.hit_rate).toFixed(1) + '%' : 'n/a'],
    ['cached tokens', fmt(c.hits ? c.hits.matched_tokens : 0) + ' of ' + fmt(c.hits ? c.hits.requested_tokens : 0)],
    ['KV in use', fmt(used) + ' / ' + fmt(c.capacity_tokens) + ' tokens (' + c.kv_type + ')'],
    ['cached blocks', String(c.cached_blocks) + ' × ' + c.block_size],
    ['cache', c.enabled ? 'on' : 'off'],
  ];
  $('stats').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    return [dt, dd];
  }));
  return c.capacity_tokens ? used / c.capacity_tokens : 0;
}

function renderHistory() {
  const cv = $('history');
  const g = cv.getContext('2d');
  const w = cv.width, h = cv.height;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#c8ccd4';
  g.strokeRect(0.5, 0.5, w - 1, h - 1);
  const pts = state.history;
  const line = (key, color) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    pts.forEach((p, i) => {
      const x = pts.length === 1 ? w - 2 : 1 + (i * (w - 3)) / (pts.length - 1);
      const y = h - 2 - p[key] * (h - 4);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line('kv', '#b35c00');
  line('hit', '#1f6feb');
}

// Lays the tree out left to right: x by prefix depth, y by leaf order.
function renderGraph(c) {
  const nodes = c.graph.nodes;
  const el = $('graph');
  if (!nodes.length) { el.textContent = 'Empty: send a message and its prompt is cached here.'; return; }
  const kids = new Map();
  for (const n of nodes) {
    const p = n.parent;
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(n);
  }
  const converge = new Set(c.graph.convergence);
  const maxDepth = Math.max(...nodes.map((n) => n.depth_tokens));
  const maxHits = Math.max(1, ...nodes.map((n) => n.hits));
  const pos = new Map();
  let leaf = 0;
  const place = (n, level) => {
    const ch = kids.get(n.id) || [];
    if (!ch.length) { pos.set(n.id, { y: leaf++, level }); return; }
    ch.forEach((k) => place(k, level + 1));
    const ys = ch.map((k) => pos.get(k.id).y);
    pos.set(n.id, { y: (Math.min(...ys) + Math.max(...ys)) / 2, level });
  };
  const roots = nodes.filter((n) => !nodes.some((m) => m.id === n.parent));
  roots.forEach((r) => place(r, 0));
  const W = 460, rowH = 26, H = Math.max(60, leaf * rowH + 20), padL = 16, padR = 40; // labels
  const xOf = (n) => padL + ((n.depth_tokens) / Math.max(1, maxDepth)) * (W - padL - padR);
  const yOf = (n) => 14 + pos.get(n.id).y * rowH;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', '100%');
  const mk = (tag, attrs) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) {
    const p = byId.get(n.parent);
    const x0 = p ? xOf(p) : padL - 10, y0 = p ? yOf(p) : yOf(n);
    svg.append(mk('path', { d: `M${x0},${y0} C${(x0 + xOf(n)) / 2},${y0} ${(x0 + xOf(n)) / 2},${yOf(n)} ${xOf(n)},${yOf(n)}`, class: 'edge' }));
  }
  for (const n of nodes) {
    const r = 3 + Math.min(9, Math.sqrt(n.tokens) / 2);
    const shade = 0.25 + 0.75 * (n.hits / maxHits);
    const cls = 'node' + (n.live_requests > 0 ? ' live' : '') + (converge.has(n.id) ? ' converge' : '');
    const circle = mk('circle', { cx: xOf(n), cy: yOf(n), r, class: cls, 'fill-opacity': shade.toFixed(2) });
    const tip = mk('title', {});
    tip.textContent = `${n.tokens} tokens (prefix ${n.depth_tokens}), ${n.hits} hits, ${n.live_requests} live` +
      (n.namespace ? `, namespace ${n.namespace}` : '');
    circle.append(tip);
    svg.append(circle);
    if (n.tokens >= 8 || converge.has(n.id)) {
      const label = mk('text', { x: xOf(n) + r + 3, y: yOf(n) + 4, class: 'label' });
      label.textContent = String(n.tokens);
      svg.append(label);
    }
  }
  el.replaceChildren(svg);
  if (c.graph.truncated) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'Showing the first ' + nodes.length + ' nodes.';
    el.append(p);
  }
}

// The savings estimate: prefill tokens the cache did not have to compute,
// and the speed-up of prefill work that follows (requested / computed).
function renderSavings(c) {
  const el = $('savings');
  const s = c.savings;
  const items = [];
  if (s) {
    const computed = s.requested_prefill_tokens - s.cached_prefill_tokens;
    const speed = computed > 0 ? s.requested_prefill_tokens / computed : 1;
    items.push(`Prefill: ${fmt(s.cached_prefill_tokens)} of ${fmt(s.requested_prefill_tokens)} prompt tokens came from the cache, ` +
      `about ${speed.toFixed(2)}× less prefill work than without it.`);
    if (s.live_tokens) items.push(`Live requests: ${fmt(s.live_shared_tokens)} of ${fmt(s.live_tokens)} prompt tokens are shared with another live request.`);
  }
  for (const g of c.prefix_groups) {
    items.push(`Prefix group: ${g.requests.length} live requests share ${g.shared_tokens} tokens` +
      (g.namespace ? ` (namespace ${g.namespace})` : '') + ` — ${g.shared_tokens * (g.requests.length - 1)} tokens stored once instead of ${g.requests.length} times.`);
  }
  if (!items.length) items.push('Nothing yet.');
  const ul = document.createElement('ul');
  for (const t of items) { const li = document.createElement('li'); li.textContent = t; ul.append(li); }
  el.replaceChildren(ul);
}

let cacheTimer = null;
async function refreshCache() {
  clearTimeout(cacheTimer);
  try {
    const c = await api('/v1/cache');
    const kv = renderStats(c);
    state.history.push({ hit: c.hits ? c.hits.hit_rate : 0, kv });
    if (state.history.length > 120) state.history.shift();
    renderHistory();
    renderGraph(c);
    renderSavings(c);
  } catch (e) {
    $('graph').textContent = 'Cache view unavailable: ' + e.message;
  }
  cacheTimer = setTimeout(refreshCache, state.busy ? 500 : 2000);
}

async function connect() {
  try {
    const m = await api('/v1/models');
    state.model = m.data[0].id;
    setStatus('model ' + state.model);
    refreshCache();
  } catch (e) {
    setStatus('not ready: ' + e.message + ' (retrying)', true);
    setTimeout(connect, 2000);
  }
}

// ---------- wiring ----------

$('send-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
});
$('stop-btn').addEventListener('click', () => { if (state.busy) state.busy.abort(); });
$('clear').addEventListener('click', () => { state.messages = []; save(); renderMessages(); $('input').focus(); });
$('flush').addEventListener('click', async () => {
  try { await api('/v1/cache/flush', {}); } catch (e) { setStatus('flush failed: ' + e.message, true); }
  refreshCache();
});
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.key = $('api-key').value.trim();
  store.set('key', state.key);
  $('key-form').hidden = true;
  connect();
});
$('system').value = store.get('system', '');
$('system').addEventListener('change', () => store.set('system', $('system').value));
renderMessages();
connect();
