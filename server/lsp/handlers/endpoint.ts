/** A test request to a deployed version: one row of its signature, built here, sent only when asked. */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ServerContext } from '../context';
import { endpoint as rpc } from '../../protocol';
import type { EndpointTestResult } from '../../protocol/endpoint';
import { ModelOpsError } from '../../engine/errors';
import { loadConfig } from '../../engine/config';
import type { ModelOpsConfig } from '../../engine/config/types';
import type { Signature } from '../../engine/registry/types';
import { readDataset } from '../../engine/data/read';
import { connectTarget, tokenResolver } from '../../engine/deploy';
import { predictionsFromResponse } from '../../engine/serving';

const missing = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

function wire(v: unknown, datatype: string): unknown {
  if (datatype === 'BYTES') return String(v);
  if (datatype === 'BOOL') return typeof v === 'string' ? /^(true|1)$/i.test(v.trim()) : Boolean(v);
  return typeof v === 'string' ? Number(v) : v;
}

/**
 * One row for the signature's inputs: the first complete row of the config's validation, test or
 * train file; typed placeholders (0, "", false) when there is none. Exported for tests.
 */
export async function oneRow(
  signature: Signature,
  config: ModelOpsConfig | null,
  configDir: string,
): Promise<{ body: EndpointTestResult['body']; rowSource: string }> {
  const inputs = signature.inputs;
  let row: Record<string, unknown> | undefined;
  let rowSource = 'placeholder values';
  const rel = config ? (config.data.validation ?? config.data.test ?? config.data.train) : undefined;
  if (rel) {
    try {
      const ds = await readDataset(isAbsolute(rel) ? rel : resolve(configDir, rel), {
        format: config?.data.format,
        displayName: rel,
      });
      row = (ds.rows as Array<Record<string, unknown>>).find((r) => inputs.every((i) => !missing(r[i.name])));
      if (row) rowSource = rel;
    } catch {
      /* unreadable data: placeholders below */
    }
  }
  const placeholder = (datatype: string): unknown => (datatype === 'BYTES' ? '' : datatype === 'BOOL' ? false : 0);
  return {
    body: {
      inputs: inputs.map((i) => ({
        name: i.name,
        datatype: i.datatype,
        shape: [1, 1],
        data: [row ? wire(row[i.name], i.datatype) : placeholder(i.datatype)],
      })),
      parameters: { modelops_log: false },
    },
    rowSource,
  };
}

export function registerEndpoint(ctx: ServerContext): void {
  const tokenFor = tokenResolver({
    trusted: () => ctx.trusted(),
    stored: (secret) => ctx.tokens.get(secret),
    env: process.env,
    consentHint:
      'Run "ModelOps: Set Endpoint Token" for this target (or deploy again and allow it) to send the token to this origin.',
  });

  ctx.handle(rpc.testRequest, async (params) => {
    const path = ctx.configPath(params.configUri);
    const config = (await loadConfig(path)).config;
    const registry = ctx.registry();
    const v = registry.getVersion(params.ref);
    if (!v.signature || v.signature.inputs.length === 0) {
      throw new ModelOpsError(
        'no-features',
        `${params.ref} has no recorded input signature, so no test row can be built.`,
        'Register the version again from a model with a signature, or send your own request (docs/serving-api.md).',
      );
    }
    const { body, rowSource } = await oneRow(v.signature, config, dirname(path));
    const client = await connectTarget({ registry, config, tokenFor, trusted: ctx.trusted() }, params.target, {
      start: false,
    });
    if (!client)
      throw new ModelOpsError(
        'target-down',
        `The model server of '${params.target}' is not running.`,
        'Deploy a version to it (ModelOps: Deploy…), then try again.',
      );
    const url = `${client.url}/v2/models/${encodeURIComponent(v.model)}/versions/${encodeURIComponent(v.version)}/infer`;
    if (!params.send) return { url, body, rowSource };
    const started = performance.now();
    const response = await client.infer(v.model, v.version, body);
    const latencyMs = performance.now() - started;
    const [p] = predictionsFromResponse(response);
    return {
      url,
      body,
      rowSource,
      latencyMs,
      prediction: { value: p.value, ...(p.probabilities ? { probabilities: p.probabilities } : {}) },
    };
  });
}
