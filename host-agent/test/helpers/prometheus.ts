/**
 * Reads /metrics as a Prometheus server would: the text exposition format parsed by a parser that
 * is not the agent's own (prom2javascript; it throws on any line it cannot read), then one
 * sample looked up by name and labels. `value` is undefined when no such series exists.
 */
import { getMetricsFromIterator, type PromMetric, type PromMetrics } from "prom2javascript";

export async function parseExposition(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split("\n")[Symbol.iterator]());
}

const matches = (labels: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => labels[k] === v);

/** A counter's or gauge's value for the series whose labels include `labels`. */
export function value(metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number | undefined {
  const metric: PromMetric | undefined = metrics[name];
  if (!metric) return undefined;
  for (const d of metric.data) if ("value" in d && matches(d.labels, labels)) return d.value;
  return undefined;
}

/** A histogram's observation count for the series whose labels include `labels`. */
export function histogramCount(metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number {
  const metric = metrics[name];
  if (!metric || metric.type !== "histogram") return 0;
  for (const d of metric.data) if ("buckets" in d && matches(d.labels, labels)) return d.count;
  return 0;
}

/** Every label value of every series: what must never hold an id, a path or a secret. */
export function labelValues(metrics: PromMetrics): string[] {
  return Object.values(metrics).flatMap((m) => m.data.flatMap((d) => Object.values(d.labels)));
}

/** GET /metrics with a bearer token, parsed; throws unless it answers 200 in the text format. */
export async function scrape(url: string, token: string): Promise<PromMetrics> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  if (!res.headers.get("content-type")?.startsWith("text/plain")) throw new Error("not the text format");
  return parseExposition(await res.text());
}
