/** The value of one sample line of a Prometheus text exposition (`name` is a regex source, labels escaped); NaN when absent. */
export function metricValue(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
}
