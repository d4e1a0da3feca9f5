/** Prometheus text exposition of request counts, errors and latency per model and version. */

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  model: string;
  version: string;
  requests: Map<number, number>;
  errors: number;
  rows: number;
  buckets: Float64Array;
  sum: number;
  count: number;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class ServerMetrics {
  private series = new Map<string, Series>();
  private batches = { count: 0, rows: 0 };
  /** Requests refused with 503 because the in-flight body budget was spent. */
  private busy = 0;

  private get(model: string, version: string): Series {
    const key = `${model}\u0000${version}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        model,
        version,
        requests: new Map(),
        errors: 0,
        rows: 0,
        buckets: new Float64Array(BUCKETS.length),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    return s;
  }

  /** One finished infer request. `version` is '' when the request never reached a version. */
  observe(model: string, version: string, status: number, seconds: number, rows: number): void {
    const s = this.get(model, version);
    s.requests.set(status, (s.requests.get(status) ?? 0) + 1);
    if (status >= 400) s.errors++;
    s.rows += rows;
    s.sum += seconds;
    s.count++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) s.buckets[i]++;
  }

  observeBatch(rows: number): void {
    this.batches.count++;
    this.batches.rows += rows;
  }

  observeBusy(): void {
    this.busy++;
  }

  /** `log` is the prediction log's counters (absent when the log is off); `extra`, more lines (live monitoring). */
  render(log?: { dropped: number } | null, extra?: readonly string[]): string {
    const out: string[] = [];
    const all = [...this.series.values()];
    const lbl = (s: Series) => `model="${esc(s.model)}",version="${esc(s.version)}"`;
    out.push('# HELP modelops_inference_requests_total Inference requests by model, version and HTTP status.');
    out.push('# TYPE modelops_inference_requests_total counter');
    for (const s of all)
      for (const [code, n] of s.requests) out.push(`modelops_inference_requests_total{${lbl(s)},code="${code}"} ${n}`);
    out.push('# HELP modelops_inference_errors_total Inference requests answered with a 4xx or 5xx status.');
    out.push('# TYPE modelops_inference_errors_total counter');
    for (const s of all) out.push(`modelops_inference_errors_total{${lbl(s)}} ${s.errors}`);
    out.push('# HELP modelops_inference_rows_total Rows predicted.');
    out.push('# TYPE modelops_inference_rows_total counter');
    for (const s of all) out.push(`modelops_inference_rows_total{${lbl(s)}} ${s.rows}`);
    out.push('# HELP modelops_inference_duration_seconds Inference request latency.');
    out.push('# TYPE modelops_inference_duration_seconds histogram');
    for (const s of all) {
      BUCKETS.forEach((b, i) =>
        out.push(`modelops_inference_duration_seconds_bucket{${lbl(s)},le="${b}"} ${s.buckets[i]}`),
      );
      out.push(`modelops_inference_duration_seconds_bucket{${lbl(s)},le="+Inf"} ${s.count}`);
      out.push(`modelops_inference_duration_seconds_sum{${lbl(s)}} ${s.sum}`);
      out.push(`modelops_inference_duration_seconds_count{${lbl(s)}} ${s.count}`);
    }
    out.push('# HELP modelops_batches_total Model calls made by the micro-batcher.');
    out.push('# TYPE modelops_batches_total counter');
    out.push(`modelops_batches_total ${this.batches.count}`);
    out.push('# HELP modelops_batched_rows_total Rows passed to the model by the micro-batcher.');
    out.push('# TYPE modelops_batched_rows_total counter');
    out.push(`modelops_batched_rows_total ${this.batches.rows}`);
    out.push(
      '# HELP modelops_http_busy_total Requests refused with 503 (request bodies in flight at the memory budget) and connections closed at the connection limit.',
    );
    out.push('# TYPE modelops_http_busy_total counter');
    out.push(`modelops_http_busy_total ${this.busy}`);
    if (log) {
      out.push(
        '# HELP modelops_prediction_log_dropped_total Prediction log lines lost (disk full, write error, or the disk not keeping up).',
      );
      out.push('# TYPE modelops_prediction_log_dropped_total counter');
      out.push(`modelops_prediction_log_dropped_total ${log.dropped}`);
    }
    if (extra) out.push(...extra);
    return out.join('\n') + '\n';
  }
}
