import { expect, it } from 'vitest';
import { startRecommendEngine, track } from './recommend-harness.js';

it('debug', async () => {
  const h = await startRecommendEngine({ recommend: { minInteractions: 1e9, retrainInterval: 0, retrainEveryInteractions: 0 } });
  try {
    const batch = [];
    let at = Date.now() - 600_000;
    const A = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const B = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    for (const [p, items] of [['ua', A], ['ub', B]] as const) for (let k = 0; k < 12; k++) for (let j = 0; j < 3; j++) batch.push(track({ userId: `${p}${k}` }, 'Product Viewed', { product_id: items[(k + j) % 6] }, (at += 1000)));
    await h.send(batch);
    await h.waitForStream();
    await h.train();
    const v = { anonymousId: 'cv' };
    await h.send([track(v, 'Product Viewed', { product_id: 'a3' }, Date.now() - 10_000)]);
    await h.waitForProfile(v, (p) => p.features.recentItems.includes('a3'));
    console.log((await h.recommend({ ...v, n: 6 })).text);
    await h.send([track(v, 'Product Clicked', { product_id: 'b4' }, Date.now())]);
    const prof = await h.waitForProfile(v, (p) => p.features.recentItems.includes('b4'));
    console.log(JSON.stringify(prof.features));
    console.log((await h.recommend({ ...v, n: 6 })).text);
    await new Promise((r) => setTimeout(r, 1000));
    console.log((await h.recommend({ ...v, n: 6 })).text);
    console.log((await h.recommend({ ...v, n: 7 })).text);
    expect(1).toBe(1);
  } finally {
    await h.stop();
  }
});
