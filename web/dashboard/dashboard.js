// The operator's dashboard: live event rates and stream positions (public /readyz and /metrics),
// segments, dead letters and profiles (secret-key API). The secret key is typed by the operator and
// kept in this tab's sessionStorage only; the server never embeds it in a page.
/* global document, location, sessionStorage, fetch, performance, console, setTimeout, HTMLElement, HTMLFormElement, HTMLInputElement, HTMLSelectElement, SVGElement, FormData, URLSearchParams -- browser code */

const KEY_STORAGE = 'kairos.dashboard.secretKey';
const POLL_MS = 2000;
const ADMIN_POLL_EVERY = 3; // admin reads (segments, dead letters) every 3rd tick
const HISTORY_POINTS = 60; // two minutes of 2 s samples

/** @param {unknown} value */
const esc = (value) => String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** @param {string} id @returns {HTMLElement} */
function byId(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found;
}

/** @param {number} n */
const fmt = (n) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 1 : 0 }) : '–');

// ---- the secret key ------------------------------------------------------------------------------

const secretKey = () => sessionStorage.getItem(KEY_STORAGE) ?? '';

/**
 * @typedef {{ ok: boolean, status: number, body: unknown, error: { code?: string, message?: string } | undefined }} Answer
 */

/**
 * A secret-key API call. A route the engine does not serve yet (404 SERVE_NOT_FOUND) is reported as
 * such rather than as an error.
 * @param {string} path
 * @returns {Promise<Answer>}
 */
async function api(path) {
  const key = secretKey();
  if (!key) return { ok: false, status: 401, body: null, error: { code: 'NO_KEY', message: 'Enter the secret key' } };
  const response = await fetch(path, { headers: { authorization: `Bearer ${key}` } });
  /** @type {unknown} */
  let body = null;
  try {
    body = await response.json();
  } catch {
    // non-JSON answer
  }
  const error = response.ok
    ? undefined
    : /** @type {{ error?: { code?: string, message?: string } } | null} */ (body)?.error;
  return { ok: response.ok, status: response.status, body, error };
}

/** @param {Answer} answer @param {string} what */
function problem(answer, what) {
  if (answer.status === 401 || answer.status === 403) return 'Enter a valid secret key above.';
  if (answer.status === 404 && answer.error?.code === 'SERVE_NOT_FOUND')
    return `${what} are not served by this engine yet.`;
  return `${answer.error?.code ?? `HTTP ${answer.status}`}: ${answer.error?.message ?? 'request failed'}`;
}

// ---- metrics and stream positions ----------------------------------------------------------------

/**
 * Sums Prometheus series by name (labels filtered by `match`), from the text exposition format;
 * NaN when the engine does not declare the metric.
 * @param {string} text
 * @param {string} name
 * @param {Record<string, string>} [match]
 */
export function metricSum(text, name, match = {}) {
  let sum = 0;
  // A declared counter with no sample yet is 0; an undeclared one is unknown (an older engine).
  let seen = text.includes(`# TYPE ${name} `);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const labels = line[name.length] === '{' ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (!Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) {
      sum += value;
      seen = true;
    }
  }
  return seen ? sum : NaN;
}

/** @type {{ at: number, accepted: number, processed: number } | undefined} */
let previous;
/** @type {number[]} */
const acceptedHistory = [];
/** @type {number[]} */
const processedHistory = [];

/**
 * Draws the last HISTORY_POINTS samples, newest on the right, scaled so the peak sits below the top.
 * @param {SVGElement} svg
 * @param {number[]} values
 */
function sparkline(svg, values) {
  if (!values.length) return;
  const peak = Math.max(...values);
  const top = Math.max(1, peak * 1.25);
  const step = 300 / (HISTORY_POINTS - 1);
  const offset = HISTORY_POINTS - values.length;
  const xy = values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(60 - (v / top) * 60).toFixed(1)}`);
  const firstX = (offset * step).toFixed(1);
  svg.innerHTML =
    `<polygon points="${firstX},60 ${xy.join(' ')} 300,60" fill="currentColor" opacity="0.12"/>` +
    `<polyline points="${xy.join(' ')}" fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke"/>`;
  const label = svg.parentElement?.querySelector('.peak');
  if (label) label.textContent = `peak ${fmt(peak)}/s over the last ${Math.round((values.length * POLL_MS) / 1000)} s`;
}

async function pollMetrics() {
  const text = await (await fetch('/metrics')).text();
  const accepted = metricSum(text, 'kairos_collect_messages_total', { outcome: 'appended' });
  const duplicates = metricSum(text, 'kairos_collect_messages_total', { outcome: 'duplicate' });
  const rejected = metricSum(text, 'kairos_collect_messages_total', { outcome: 'rejected' });
  const processed = metricSum(text, 'kairos_stream_events_processed_total');
  const late = metricSum(text, 'kairos_stream_late_records_total');
  const now = performance.now();
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    const rateIn = Math.max(0, ((accepted || 0) - previous.accepted) / seconds);
    const rateProcessed = Math.max(0, ((processed || 0) - previous.processed) / seconds);
    acceptedHistory.push(rateIn);
    processedHistory.push(rateProcessed);
    if (acceptedHistory.length > HISTORY_POINTS) acceptedHistory.shift();
    if (processedHistory.length > HISTORY_POINTS) processedHistory.shift();
    byId('rate-in').textContent = fmt(rateIn);
    byId('rate-processed').textContent = fmt(rateProcessed);
    sparkline(/** @type {SVGElement} */ (/** @type {unknown} */ (byId('spark-in'))), acceptedHistory);
    sparkline(/** @type {SVGElement} */ (/** @type {unknown} */ (byId('spark-processed'))), processedHistory);
  }
  previous = { at: now, accepted: accepted || 0, processed: processed || 0 };
  byId('totals-in').textContent =
    `${fmt(accepted)} appended · ${fmt(duplicates)} duplicates · ${fmt(rejected)} rejected`;
  byId('totals-processed').textContent = `${fmt(processed)} processed · ${fmt(late)} late`;
}

/**
 * @typedef {{ partition: number, logEnd?: number, offset?: number | null, lag?: number | null,
 *   watermark?: string | null, watermarkMs?: number }} PartitionPosition
 */

async function pollReadiness() {
  const response = await fetch('/readyz');
  /** @type {unknown} */
  const json = await response.json();
  const body = /** @type {{ status?: string, partitions?: PartitionPosition[] }} */ (json);
  const status = byId('status');
  status.textContent = body.status ?? `HTTP ${response.status}`;
  status.dataset.state = response.ok ? 'ready' : 'down';
  const rows = (body.partitions ?? []).map((p) => {
    // Older engines report watermarkMs; newer ones an ISO watermark and the log end.
    const watermarkMs = p.watermark
      ? Date.parse(p.watermark)
      : p.watermarkMs !== undefined && p.watermarkMs > -8e15
        ? p.watermarkMs
        : NaN;
    const age = Number.isFinite(watermarkMs) ? (Date.now() - watermarkMs) / 1000 : NaN;
    return `<tr><td>${p.partition}</td><td>${fmt(p.logEnd ?? NaN)}</td><td>${fmt(p.offset ?? NaN)}</td>
      <td class="${(p.lag ?? 0) > 1000 ? 'warn' : ''}">${fmt(p.lag ?? NaN)}</td>
      <td>${Number.isFinite(watermarkMs) ? esc(new Date(watermarkMs).toISOString().replace('T', ' ').slice(0, 19)) : '–'}</td>
      <td>${Number.isFinite(age) ? `${fmt(age)} s` : '–'}</td></tr>`;
  });
  byId('partitions').innerHTML = rows.join('') || '<tr><td colspan="6">no partition reported yet</td></tr>';
}

// ---- admin reads ---------------------------------------------------------------------------------

async function pollSegments() {
  const answer = await api('/v1/segments?limit=100');
  const target = byId('segments');
  if (!answer.ok) {
    target.innerHTML = `<tr><td colspan="4" class="muted">${esc(problem(answer, 'Segments'))}</td></tr>`;
    return;
  }
  const page =
    /** @type {{ items?: { id: string, name: string, activeVersion: number | null, versions?: { version: number, members?: number }[] }[] } | null} */ (
      answer.body
    );
  const items = page?.items ?? [];
  target.innerHTML =
    items
      .map((s) => {
        const active = s.versions?.find((v) => v.version === s.activeVersion);
        return `<tr data-segment-id="${esc(s.id)}"><td><code>${esc(s.id)}</code></td><td>${esc(s.name)}</td>
          <td>${s.activeVersion ?? '–'}</td><td data-testid="segment-members">${fmt(active?.members ?? NaN)}</td></tr>`;
      })
      .join('') || '<tr><td colspan="4" class="muted">no segment defined (PUT /v1/segments/{id})</td></tr>';
}

async function pollDeadLetters() {
  const answer = await api('/v1/dead-letters?limit=5');
  const list = byId('dead-letter-list');
  if (!answer.ok) {
    byId('dead-letters').textContent = '–';
    list.innerHTML = `<li class="muted">${esc(problem(answer, 'Dead letters'))}</li>`;
    return;
  }
  const page =
    /** @type {{ items?: { receivedAt: string, code: string, event?: string, type?: string }[], total?: number }} */ (
      answer.body ?? {}
    );
  byId('dead-letters').textContent = fmt(page.total ?? page.items?.length ?? 0);
  list.innerHTML = (page.items ?? [])
    .map(
      (d) =>
        `<li><code>${esc(d.code)}</code> ${esc(d.event ?? d.type ?? '')} <span class="muted">${esc(d.receivedAt.slice(11, 19))}</span></li>`,
    )
    .join('');
}

// ---- profile lookup ------------------------------------------------------------------------------

/**
 * `GET /v1/profiles/{id}` (DESIGN.md §4).
 * @typedef {{ profileId: string, userId: string | null, anonymousIds: string[], traits: Record<string, unknown>,
 *   segments: { id: string, version: number, since: string }[],
 *   features: { eventCount?: number, eventCounts?: Record<string, number>, sessionCount?: number,
 *     recentItems?: string[], purchasedItems?: string[], firstSeen?: string | null, lastSeen?: string | null },
 *   updatedAt: string | null }} Profile
 */

/** @type {{ kind: string, id: string } | undefined} */
let shownProfile;

/** @param {{ kind: string, id: string }} lookup */
async function showProfile(lookup) {
  const path =
    lookup.kind === 'anonymousId'
      ? `/v1/profiles/-?anonymousId=${encodeURIComponent(lookup.id)}`
      : `/v1/profiles/${encodeURIComponent(lookup.id)}`;
  const answer = await api(path);
  const target = byId('profile');
  if (!answer.ok) {
    target.innerHTML = `<p class="muted" data-testid="profile-error">${esc(answer.status === 404 && answer.error?.code !== 'SERVE_NOT_FOUND' ? `No profile for ${lookup.kind} ${lookup.id} (yet).` : problem(answer, 'Profiles'))}</p>`;
    return;
  }
  const p = /** @type {Profile} */ (answer.body);
  const f = p.features ?? {};
  const counts = Object.entries(f.eventCounts ?? {}).sort((a, b) => b[1] - a[1]);
  target.innerHTML = `
    <div class="profile-grid">
      <dl>
        <dt>profile</dt><dd><code data-testid="profile-id-shown">${esc(p.profileId)}</code></dd>
        <dt>userId</dt><dd>${p.userId ? `<code>${esc(p.userId)}</code>` : '–'}</dd>
        <dt>anonymousIds</dt><dd data-testid="profile-anonymous-ids">${p.anonymousIds.map((a) => `<code>${esc(a)}</code>`).join(' ') || '–'}</dd>
        <dt>traits</dt><dd>${
          Object.entries(p.traits ?? {})
            .map(([k, v]) => `${esc(k)}=<code>${esc(JSON.stringify(v))}</code>`)
            .join(' ') || '–'
        }</dd>
        <dt>segments</dt><dd data-testid="profile-segments">${p.segments.map((s) => `<span class="pill">${esc(s.id)} v${s.version}</span>`).join(' ') || '–'}</dd>
        <dt>events</dt><dd>${fmt(f.eventCount ?? NaN)} in ${fmt(f.sessionCount ?? NaN)} session(s)</dd>
        <dt>seen</dt><dd>${esc(f.firstSeen ?? '–')} → ${esc(f.lastSeen ?? '–')}</dd>
        <dt>recent items</dt><dd>${(f.recentItems ?? []).map((i) => `<code>${esc(i)}</code>`).join(' ') || '–'}</dd>
        <dt>purchased</dt><dd>${(f.purchasedItems ?? []).map((i) => `<code>${esc(i)}</code>`).join(' ') || '–'}</dd>
      </dl>
      <table class="counts" data-testid="profile-event-counts"><thead><tr><th>event</th><th>count</th></tr></thead>
        <tbody>${counts.map(([name, n]) => `<tr data-event="${esc(name)}"><td>${esc(name)}</td><td>${n}</td></tr>`).join('')}</tbody></table>
    </div>
    <details><summary>raw JSON</summary><pre>${esc(JSON.stringify(p, null, 2))}</pre></details>`;
}

// ---- wiring --------------------------------------------------------------------------------------

/** Runs a poll, showing (not throwing) its failure. @param {() => Promise<void>} poll */
const guarded = (poll) =>
  poll().catch((/** @type {unknown} */ error) => {
    const status = byId('status');
    status.textContent = 'unreachable';
    status.dataset.state = 'down';
    console.warn('dashboard poll failed', error);
  });

let tick = 0;
async function loop() {
  const follow = /** @type {HTMLInputElement | null} */ (document.querySelector('#profile-form [name="follow"]'));
  await Promise.all([
    guarded(pollMetrics),
    guarded(pollReadiness),
    ...(tick % ADMIN_POLL_EVERY === 0 ? [guarded(pollSegments), guarded(pollDeadLetters)] : []),
    ...(shownProfile && follow?.checked
      ? [guarded(() => showProfile(/** @type {{ kind: string, id: string }} */ (shownProfile)))]
      : []),
  ]);
  tick++;
  setTimeout(() => void loop(), POLL_MS);
}

function refreshAdmin() {
  void guarded(pollSegments);
  void guarded(pollDeadLetters);
  if (shownProfile) void guarded(() => showProfile(/** @type {{ kind: string, id: string }} */ (shownProfile)));
}

function boot() {
  const keyInput = /** @type {HTMLInputElement} */ (byId('secret-key'));
  keyInput.value = secretKey();
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim());
    refreshAdmin();
  });
  byId('key-forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    keyInput.value = '';
    refreshAdmin();
  });
  const form = /** @type {HTMLFormElement} */ (byId('profile-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (/** @type {string} */ key) => {
      const value = data.get(key);
      return typeof value === 'string' ? value.trim() : '';
    };
    shownProfile = { kind: text('kind'), id: text('id') };
    void guarded(() => showProfile(/** @type {{ kind: string, id: string }} */ (shownProfile)));
  });
  // The store links here as #profile=<userId> or #anonymousId=<id>.
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get('profile') ?? hash.get('anonymousId');
  if (fromHash) {
    const kind = hash.has('profile') ? 'userId' : 'anonymousId';
    /** @type {HTMLSelectElement} */ (form.elements.namedItem('kind')).value = kind;
    /** @type {HTMLInputElement} */ (form.elements.namedItem('id')).value = fromHash;
    shownProfile = { kind, id: fromHash };
    void guarded(() => showProfile({ kind, id: fromHash }));
  }
  void loop();
}

boot();
