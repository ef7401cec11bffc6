// The PeerRelay admin dashboard: polls the admin API (/admin/api/...) every two seconds; no WebSocket (the relay takes
// every upgrade), no library, nothing from another origin (the page's Content-Security-Policy allows only this origin).
'use strict';

const POLL_MS = 2000;
const PAGE = 50;
const TOKEN_KEY = 'peerrelay-admin-token';
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let offset = 0;
let total = 0;

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/admin/api/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit',
  });
  if (response.status === 401) {
    $('token-form').hidden = false;
    throw new Error('the admin token is missing or wrong');
  }
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fill(tbody, items, render) {
  const rows = document.createDocumentFragment();
  for (const item of items) {
    const row = document.createElement('tr');
    render(row, item);
    rows.appendChild(row);
  }
  tbody.replaceChildren(rows);
}

function draw(canvas, values, color) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const max = Math.max(1, ...values);
  ctx.strokeStyle = '#d9dee3';
  ctx.fillStyle = '#66707a';
  ctx.font = '11px system-ui, sans-serif';
  for (const f of [0, 0.5, 1]) {
    const y = height - 16 - f * (height - 28);
    ctx.beginPath(); ctx.moveTo(36, y); ctx.lineTo(width, y); ctx.stroke();
    ctx.fillText(formatRate(max * f), 0, y + 4);
  }
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  const step = (width - 40) / Math.max(1, 149);
  const start = 150 - values.length;
  values.forEach((v, i) => {
    const x = 38 + (start + i) * step;
    const y = height - 16 - (v / max) * (height - 28);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  canvas.dataset.points = String(values.length);
  canvas.dataset.last = String(values.length ? values[values.length - 1] : 0);
  canvas.dataset.max = String(Math.max(0, ...values));
}

const formatRate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, '') || '0');
const since = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false });

async function refreshSummary() {
  const s = await api('GET', 'summary');
  $('node').textContent = `node ${s.node}`;
  $('state').textContent = s.draining ? 'draining' : 'accepting clients';
  $('state').classList.toggle('draining', s.draining);
  $('connections').textContent = s.connections;
  $('clients').textContent = s.clients;
  $('users').textContent = s.users;
  $('forwarded').textContent = s.messages_forwarded;
  $('refusals').textContent = s.refusals;
  if (document.activeElement !== $('log-level')) $('log-level').value = s.log_level;
  draw($('chart-messages'), s.history.map((p) => p.messages_per_second), '#2463c9');
  draw($('chart-refusals'), s.history.map((p) => p.refusals_per_second), '#b3261e');
  fill($('closes').tBodies[0], s.closes, (row, c) => { cell(row, c.code); cell(row, c.count, 'num'); });
}

async function refreshNodes() {
  const n = await api('GET', 'nodes');
  fill($('nodes').tBodies[0], n.nodes, (row, node) => {
    cell(row, node.is_local ? `${node.id} (this node)` : node.id);
    cell(row, node.connections, 'num');
    cell(row, node.clients, 'num');
    cell(row, node.draining ? 'draining' : 'ready');
  });
}

async function refreshClients() {
  const query = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
  if ($('filter-name').value) query.set('name', $('filter-name').value);
  if ($('filter-user').value) query.set('user', $('filter-user').value);
  const page = await api('GET', `clients?${query}`);
  total = page.total;
  $('client-total').textContent = total === 0 ? '(none)' : `(${offset + 1}–${offset + page.clients.length} of ${total})`;
  fill($('client-table').tBodies[0], page.clients, (row, c) => {
    row.dataset.uuid = c.uuid;
    cell(row, c.name);
    cell(row, c.uuid, 'uuid');
    cell(row, c.user || '(anonymous)');
    cell(row, c.node);
    cell(row, c.remote);
    cell(row, since(c.connected_since));
    cell(row, c.messages_in, 'num');
    cell(row, c.messages_out, 'num');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'kick';
    button.textContent = 'Kick';
    button.title = 'Close this client with 1008';
    button.addEventListener('click', () => kick(c.uuid, c.name));
    row.insertCell().appendChild(button);
  });
}

async function kick(uuid, name) {
  try {
    await api('DELETE', `clients/${encodeURIComponent(uuid)}`);
    $('action').textContent = `Closed ${name} (${uuid}) with 1008.`;
  } catch (error) {
    setStatus(error.message, true);
  }
  await refresh();
}

function setStatus(text, bad) {
  $('status').textContent = text;
  $('status').style.color = bad ? '#b3261e' : '';
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      await Promise.all([refreshSummary(), refreshClients(), refreshNodes()]);
      $('token-form').hidden = true;
      setStatus(`updated ${new Date().toLocaleTimeString([], { hour12: false })}`);
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    } catch (error) {
      setStatus(error.message, true);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  refresh();
});
for (const id of ['filter-name', 'filter-user']) {
  $(id).addEventListener('input', () => { offset = 0; refresh(); });
}
$('prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); refresh(); });
$('next').addEventListener('click', () => { if (offset + PAGE < total) { offset += PAGE; refresh(); } });
$('log-level').addEventListener('change', async () => {
  try {
    const result = await api('PUT', 'log-level', { level: $('log-level').value });
    $('action').textContent = `Log level set to ${result.level}.`;
  } catch (error) {
    setStatus(error.message, true);
  }
});
$('drain').addEventListener('click', async () => {
  if (!confirm('Drain this node? It stops taking clients and closes every client with 1001.')) return;
  try {
    await api('POST', 'drain');
    $('action').textContent = 'Draining this node.';
  } catch (error) {
    setStatus(error.message, true);
  }
  refresh();
});

refresh();
setInterval(refresh, POLL_MS);
