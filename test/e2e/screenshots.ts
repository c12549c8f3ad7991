// Regenerates the README pictures: docs/img/store.png (the store's home, with the personalised
// panel, and the High-intent banner when the engine serves segments) and docs/img/dashboard.png.
// Run: npx tsx test/e2e/screenshots.ts
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  basicAuth,
  getProfile,
  isServed,
  launchBrowser,
  startTestEngine,
  storeReady,
  visitor,
  waitFor,
} from './harness.js';

const IMG_DIR = fileURLToPath(new URL('../../docs/img/', import.meta.url));

const engine = await startTestEngine();
const browser = await launchBrowser();
try {
  mkdirSync(IMG_DIR, { recursive: true });
  const segmentsServed = await isServed(`${engine.url}/v1/segments/high-intent`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${engine.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'high-intent',
      name: 'High intent',
      condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 3 },
    }),
  });

  // Background traffic from other shoppers, so the dashboard's rates have something to show.
  let sequence = 0;
  const traffic = setInterval(() => {
    const batch = Array.from({ length: 20 }, () => {
      const n = sequence++;
      return {
        type: 'track',
        event: n % 7 === 0 ? 'Product Added' : 'Product Viewed',
        anonymousId: `shopper-${n % 40}`,
        messageId: `shot-${n}`,
        properties: { product_id: `p-${String(1 + ((n * 37) % 300)).padStart(4, '0')}` },
      };
    });
    void fetch(`${engine.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(engine.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
  }, 250);

  const page = await browser.newPage();
  // A visitor who keeps coming back to one jacket (4 views: the high-intent rule), then goes home.
  await page.goto(`${engine.url}/store/p/p-0042`);
  await storeReady(page);
  const { anonymousId } = await visitor(page);
  for (let view = 2; view <= 4; view++) {
    await waitFor(
      () => getProfile(engine, { anonymousId }),
      (p) => (p?.features.eventCounts['Product Viewed'] ?? 0) >= view - 1,
      `view ${view - 1}`,
    );
    await page.reload();
    await storeReady(page);
  }
  if (segmentsServed) await page.getByTestId('high-intent-banner').waitFor({ timeout: 30_000 });
  await page.getByRole('link', { name: 'Home' }).first().click();
  await page.locator('[data-testid="recs"][data-placement="home"]').waitFor();
  await page.screenshot({ path: `${IMG_DIR}store.png` });

  const dashboard = await browser.newPage();
  await dashboard.goto(`${engine.url}/dashboard/#anonymousId=${encodeURIComponent(anonymousId)}`);
  await dashboard.getByTestId('secret-key').fill(engine.secretKey);
  await dashboard.getByTestId('secret-key-save').click();
  await dashboard.locator('[data-testid="profile-event-counts"]').waitFor();
  // Let the rate charts collect a dozen samples.
  await new Promise((resolve) => setTimeout(resolve, 25_000));
  clearInterval(traffic);
  await dashboard.screenshot({ path: `${IMG_DIR}dashboard.png`, fullPage: true });
  console.log(`wrote ${IMG_DIR}store.png and ${IMG_DIR}dashboard.png (segments served: ${segmentsServed})`);
} finally {
  await browser.close();
  await engine.stop();
}
