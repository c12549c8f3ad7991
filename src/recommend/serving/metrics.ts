import { Counter, Gauge, type Registry } from 'prom-client';
import type { HoldoutMetrics, RecommendSource } from './types.js';

const SOURCES: readonly RecommendSource[] = ['personal', 'popular', 'empty'];

/** Prometheus series of live serving (`kairos_recommend_*`). Label children are cached: the request path does no label hashing. */
export class RecommendMetrics {
  private readonly requests: Counter<'placement' | 'source'>;
  private readonly served: Counter<'placement'>;
  private readonly cacheLookups: Counter<'result'>;
  private readonly clicks: Counter<'placement'>;
  private readonly orders: Counter<'placement'>;
  private readonly revenue: Counter<'placement'>;
  private readonly unmatched: Counter<'event'>;
  private readonly trainings: Counter<'outcome'>;
  private readonly trainingSeconds: Gauge;
  private readonly version: Gauge;
  private readonly swaps: Counter;
  private readonly records: Counter;
  private readonly interactions: Gauge;
  private readonly holdout: Gauge<'metric'>;
  private readonly hot = {
    byPlacement: new Map<string, Record<RecommendSource | 'served', number>>(),
    hits: 0,
    misses: 0,
  };

  constructor(registry: Registry) {
    const registers = [registry];
    // Request-path counts are plain numbers folded into the Prometheus series at scrape time:
    // prom-client hashes and validates labels on every inc(), even through labels() children.
    const hot = this.hot;
    this.requests = new Counter({
      name: 'kairos_recommend_requests_total',
      help: 'Recommendation responses (impressions) by placement and where the list came from',
      labelNames: ['placement', 'source'],
      registers,
      collect() {
        for (const [placement, counts] of hot.byPlacement) {
          for (const source of SOURCES) {
            if (counts[source] > 0) this.inc({ placement, source }, counts[source]);
            counts[source] = 0;
          }
        }
      },
    });
    this.served = new Counter({
      name: 'kairos_recommend_items_served_total',
      help: 'Items shown in recommendation responses',
      labelNames: ['placement'],
      registers,
      collect() {
        for (const [placement, counts] of hot.byPlacement) {
          if (counts.served > 0) this.inc({ placement }, counts.served);
          counts.served = 0;
        }
      },
    });
    this.cacheLookups = new Counter({
      name: 'kairos_recommend_cache_total',
      help: 'Recommendation cache lookups',
      labelNames: ['result'],
      registers,
      collect() {
        this.inc({ result: 'hit' }, hot.hits);
        this.inc({ result: 'miss' }, hot.misses);
        hot.hits = 0;
        hot.misses = 0;
      },
    });
    this.clicks = new Counter({
      name: 'kairos_recommend_clicks_attributed_total',
      help: 'Product Clicked events attributed to a served recommendation',
      labelNames: ['placement'],
      registers,
    });
    this.orders = new Counter({
      name: 'kairos_recommend_orders_attributed_total',
      help: 'Order Completed events attributed to a served recommendation',
      labelNames: ['placement'],
      registers,
    });
    this.revenue = new Counter({
      name: 'kairos_recommend_revenue_attributed_total',
      help: 'Revenue of attributed orders',
      labelNames: ['placement'],
      registers,
    });
    this.unmatched = new Counter({
      name: 'kairos_recommend_attribution_unmatched_total',
      help: 'Events with a recommendation_id no remembered impression has (unknown or forgotten)',
      labelNames: ['event'],
      registers,
    });
    this.trainings = new Counter({
      name: 'kairos_recommend_trainings_total',
      help: 'Model trainings by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.trainingSeconds = new Gauge({
      name: 'kairos_recommend_training_seconds',
      help: 'Duration of the last successful training',
      registers,
    });
    this.version = new Gauge({
      name: 'kairos_recommend_model_version',
      help: 'Version being served (0: none yet)',
      registers,
    });
    this.swaps = new Counter({
      name: 'kairos_recommend_model_swaps_total',
      help: 'Atomic swaps to a new model version',
      registers,
    });
    this.records = new Counter({
      name: 'kairos_recommend_log_records_consumed_total',
      help: 'Log records the trainer tail consumed',
      registers,
    });
    this.interactions = new Gauge({
      name: 'kairos_recommend_interactions',
      help: 'Distinct (profile, item) interactions in the last training',
      registers,
    });
    this.holdout = new Gauge({
      name: 'kairos_recommend_holdout',
      help: 'Holdout quality of the served version (hit_rate, ndcg, popularity_hit_rate at k = 10)',
      labelNames: ['metric'],
      registers,
    });
  }

  request(placement: string, source: RecommendSource, items: number): void {
    let counts = this.hot.byPlacement.get(placement);
    if (!counts) this.hot.byPlacement.set(placement, (counts = { personal: 0, popular: 0, empty: 0, served: 0 }));
    counts[source]++;
    counts.served += items;
  }

  cache(hit: boolean): void {
    if (hit) this.hot.hits++;
    else this.hot.misses++;
  }

  click(placement: string): void {
    this.clicks.labels(placement).inc();
  }

  order(placement: string, revenue: number): void {
    this.orders.labels(placement).inc();
    if (revenue > 0) this.revenue.labels(placement).inc(revenue);
  }

  unmatchedAttribution(event: string): void {
    this.unmatched.labels(event).inc();
  }

  consumed(records: number): void {
    if (records > 0) this.records.inc(records);
  }

  training(ok: boolean, seconds?: number): void {
    this.trainings.labels(ok ? 'ok' : 'failed').inc();
    if (ok && seconds !== undefined) this.trainingSeconds.set(seconds);
  }

  swapped(version: number, interactions: number | undefined, metrics: HoldoutMetrics | null): void {
    this.swaps.inc();
    this.setVersion(version);
    if (interactions !== undefined) this.interactions.set(interactions);
    if (metrics) {
      this.holdout.labels('hit_rate').set(metrics.hitRate);
      this.holdout.labels('ndcg').set(metrics.ndcg);
      this.holdout.labels('popularity_hit_rate').set(metrics.popularityHitRate);
    }
  }

  setVersion(version: number): void {
    this.version.set(version);
  }
}
