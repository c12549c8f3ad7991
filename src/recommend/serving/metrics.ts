import { Counter, Gauge, type Registry } from 'prom-client';
import type { HoldoutMetrics, RecommendSource } from './types.js';

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
  private readonly children = new Map<string, { inc(value?: number): void }>();
  private readonly byPlacement = new Map<string, Record<RecommendSource | 'served', { inc(value?: number): void }>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'kairos_recommend_requests_total', help: 'Recommendation responses (impressions) by placement and where the list came from', labelNames: ['placement', 'source'], registers });
    this.served = new Counter({ name: 'kairos_recommend_items_served_total', help: 'Items shown in recommendation responses', labelNames: ['placement'], registers });
    this.cacheLookups = new Counter({ name: 'kairos_recommend_cache_total', help: 'Recommendation cache lookups', labelNames: ['result'], registers });
    this.clicks = new Counter({ name: 'kairos_recommend_clicks_attributed_total', help: 'Product Clicked events attributed to a served recommendation', labelNames: ['placement'], registers });
    this.orders = new Counter({ name: 'kairos_recommend_orders_attributed_total', help: 'Order Completed events attributed to a served recommendation', labelNames: ['placement'], registers });
    this.revenue = new Counter({ name: 'kairos_recommend_revenue_attributed_total', help: 'Revenue of attributed orders', labelNames: ['placement'], registers });
    this.unmatched = new Counter({ name: 'kairos_recommend_attribution_unmatched_total', help: 'Events with a recommendation_id no remembered impression has (unknown or forgotten)', labelNames: ['event'], registers });
    this.trainings = new Counter({ name: 'kairos_recommend_trainings_total', help: 'Model trainings by outcome', labelNames: ['outcome'], registers });
    this.trainingSeconds = new Gauge({ name: 'kairos_recommend_training_seconds', help: 'Duration of the last successful training', registers });
    this.version = new Gauge({ name: 'kairos_recommend_model_version', help: 'Version being served (0: none yet)', registers });
    this.swaps = new Counter({ name: 'kairos_recommend_model_swaps_total', help: 'Atomic swaps to a new model version', registers });
    this.records = new Counter({ name: 'kairos_recommend_log_records_consumed_total', help: 'Log records the trainer tail consumed', registers });
    this.interactions = new Gauge({ name: 'kairos_recommend_interactions', help: 'Distinct (profile, item) interactions in the last training', registers });
    this.holdout = new Gauge({ name: 'kairos_recommend_holdout', help: 'Holdout quality of the served version (hit_rate, ndcg, popularity_hit_rate at k = 10)', labelNames: ['metric'], registers });
  }

  request(placement: string, source: RecommendSource, items: number): void {
    let children = this.byPlacement.get(placement);
    if (!children) {
      children = {
        personal: this.requests.labels(placement, 'personal'),
        popular: this.requests.labels(placement, 'popular'),
        empty: this.requests.labels(placement, 'empty'),
        served: this.served.labels(placement),
      };
      this.byPlacement.set(placement, children);
    }
    children[source].inc();
    if (items > 0) children.served.inc(items);
  }

  cache(hit: boolean): void {
    this.child(hit ? 'c|hit' : 'c|miss', () => this.cacheLookups.labels(hit ? 'hit' : 'miss')).inc();
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

  private child(key: string, make: () => { inc(value?: number): void }): { inc(value?: number): void } {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = make()));
    return c;
  }
}
