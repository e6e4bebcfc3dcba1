// The dashboard: polls /integrations/status every 2 s with the caller's key and redraws. No build step.
const POLL_MS = 2000;
const HISTORY = 40;
const KEY_STORAGE = 'integrations.apiKey';
const STATUSES = ['healthy', 'degraded', 'initializing', 'unhealthy', 'disabled'];

const $ = (id) => document.getElementById(id);
const history = new Map();
let timer;
let apiKey =
  document.querySelector('meta[name="integrations-demo-key"]')?.content || sessionStorage.getItem(KEY_STORAGE) || '';
let tenant = '';
const knownTenants = new Set();

function showLogin(message) {
  clearTimeout(timer);
  $('board').hidden = true;
  $('forget').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('overall').textContent = 'no key';
  $('overall').dataset.status = 'disabled';
  $('key').focus();
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  apiKey = $('key').value.trim();
  $('key').value = '';
  if (!apiKey) return;
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  start();
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  apiKey = '';
  tenant = '';
  history.clear();
  knownTenants.clear();
  $('tenant').replaceChildren(new Option('All tenants', ''));
  $('tenant-picker').hidden = true;
  showLogin();
});

$('tenant').addEventListener('change', (event) => {
  tenant = event.target.value;
  history.clear();
  poll();
});

function start() {
  $('login').hidden = true;
  $('board').hidden = false;
  $('forget').hidden = false;
  poll();
}

async function poll() {
  clearTimeout(timer);
  const headers = { authorization: `Bearer ${apiKey}` };
  if (tenant) headers['x-tenant-id'] = tenant;
  try {
    const response = await fetch('/integrations/status', { headers, cache: 'no-store' });
    if (response.status === 401) {
      sessionStorage.removeItem(KEY_STORAGE);
      showLogin('That key was not accepted.');
      return;
    }
    if (!response.ok) throw new Error(`the gateway answered ${response.status}`);
    render(await response.json());
    $('error').textContent = '';
  } catch (error) {
    $('error').textContent = `Cannot reach the gateway: ${error.message}. Retrying…`;
    $('overall').textContent = 'unreachable';
    $('overall').dataset.status = 'unhealthy';
  }
  timer = setTimeout(poll, POLL_MS);
}

function overallOf(integrations) {
  const enabled = integrations.filter((i) => i.status !== 'disabled');
  if (enabled.every((i) => i.status === 'healthy')) return 'healthy';
  if (enabled.every((i) => i.status === 'unhealthy')) return 'unhealthy';
  return 'degraded';
}

const percent = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)} %`);
const millis = (ms) =>
  ms === null || ms === undefined ? '–' : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;

function fillBar(bar, counts, total) {
  bar.replaceChildren();
  for (const status of STATUSES) {
    const n = counts[status] || 0;
    if (!n) continue;
    const segment = document.createElement('span');
    segment.dataset.status = status;
    segment.style.width = `${(n / total) * 100}%`;
    segment.title = `${n} ${status}`;
    bar.append(segment);
  }
}

function render(data) {
  const { totals, integrations } = data;
  const overall = overallOf(integrations);
  $('overall').textContent = overall;
  $('overall').dataset.status = overall;
  $('t-total').textContent = totals.total;
  $('t-healthy').textContent = totals.byStatus.healthy || 0;
  $('t-degraded').textContent = (totals.byStatus.degraded || 0) + (totals.byStatus.initializing || 0);
  $('t-unhealthy').textContent = totals.byStatus.unhealthy || 0;
  $('t-success').textContent = percent(totals.successRate);
  $('t-latency').textContent = millis(totals.meanLatencyMs);
  fillBar($('t-bar'), totals.byStatus, Math.max(totals.total, 1));
  $('updated').textContent = `updated ${new Date(data.generatedAt).toLocaleTimeString()}`;

  // The admin without a tenant sees every tenant: offer them as a filter.
  if (data.tenant === null) {
    for (const i of integrations) knownTenants.add(i.tenant);
  }
  const select = $('tenant');
  // Only the admin key answers for every tenant; a tenant key's answers always name its tenant.
  const admin = data.tenant === null || tenant !== '';
  $('tenant-picker').hidden = !admin || knownTenants.size < 2;
  if (admin && knownTenants.size > 1) {
    for (const t of [...knownTenants].sort()) {
      if (![...select.options].some((o) => o.value === t)) select.append(new Option(t, t));
    }
  }

  const byCategory = new Map();
  for (const i of integrations) {
    if (!byCategory.has(i.category)) byCategory.set(i.category, []);
    byCategory.get(i.category).push(i);
    const key = `${i.tenant}/${i.name}`;
    const past = history.get(key) || [];
    past.push(i.status);
    history.set(key, past.slice(-HISTORY));
  }

  const container = $('categories');
  container.replaceChildren();
  for (const [category, items] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
    const section = $('category-template').content.firstElementChild.cloneNode(true);
    section.dataset.category = category;
    section.querySelector('h2').textContent = category;
    const counts = {};
    for (const i of items) counts[i.status] = (counts[i.status] || 0) + 1;
    section.querySelector('.count').textContent =
      `${items.length} integration${items.length === 1 ? '' : 's'} · ${counts.healthy || 0} healthy`;
    fillBar(section.querySelector('.bar'), counts, items.length);
    const cards = section.querySelector('.cards');
    items.sort((a, b) => a.name.localeCompare(b.name) || a.tenant.localeCompare(b.tenant));
    for (const i of items) cards.append(card(i, data.tenant === null));
    container.append(section);
  }
}

function card(i, showTenant) {
  const node = $('card-template').content.firstElementChild.cloneNode(true);
  node.dataset.integration = i.name;
  node.dataset.tenant = i.tenant;
  node.dataset.status = i.status;
  node.querySelector('.name').textContent = showTenant ? `${i.name} · ${i.tenant}` : i.name;
  const pill = node.querySelector('.status');
  pill.textContent = i.status;
  pill.dataset.status = i.status;
  node.querySelector('.provider').textContent = `${i.displayName} · ${i.type.replace('_', ' ')}`;
  const strip = node.querySelector('.history');
  for (const status of history.get(`${i.tenant}/${i.name}`) || []) {
    const tick = document.createElement('span');
    tick.dataset.status = status;
    strip.append(tick);
  }
  node.querySelector('.success').textContent = i.calls ? `${percent(i.successRate)} of ${i.calls}` : 'no calls yet';
  node.querySelector('.latency').textContent = millis(i.meanLatencyMs);
  node.querySelector('.breaker').textContent = i.breaker ? i.breaker.replace('_', '-') : 'none';
  node.querySelector('.breaker').dataset.breaker = i.breaker || 'none';
  node.querySelector('.headroom').textContent = i.rateLimitHeadroom === null ? 'none' : `${i.rateLimitHeadroom} tokens`;
  node.querySelector('.last-error').textContent = i.lastErrorKind || '–';
  const failure = i.lastCheck?.error;
  node.querySelector('.check-error').textContent = failure ? `${failure.kind}: ${failure.message}` : '';
  return node;
}

if (apiKey) start();
else showLogin();
