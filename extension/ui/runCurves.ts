/** The training panel of runs: their recorded per-epoch metrics (Show Charts…, and Train Model when a run becomes a version). */
import { registry } from '../../server/protocol';
import type { RunRecord } from '../../server/engine/registry/types';
import { UserError, type Ctx } from '../ctx';
import { runLabel, shortRunId } from '../tree/format';

export async function showRunCurves(ctx: Ctx, runs: RunRecord[], title?: string): Promise<void> {
  const series = await Promise.all(
    runs.map(async (r) => ({
      runId: r.id,
      label: `${runLabel(r)} · ${shortRunId(r.id)}${r.version ? ` → ${r.version}` : ''}`,
      status: r.status,
      points: (await ctx.request(registry.runMetrics, { id: r.id })).map((p) => ({ step: p.step, metrics: p.metrics })),
    })),
  );
  if (series.every((s) => s.points.length === 0)) throw new UserError('Those runs recorded no metrics per epoch.');
  await ctx.charts.open({
    kind: 'runMetrics',
    title:
      title ??
      (runs.length === 1
        ? `${runs[0].version ? `${runs[0].model}@${runs[0].version}` : series[0].label} · training`
        : `training · ${runs.length} runs`),
    data: { runs: series },
  });
}
