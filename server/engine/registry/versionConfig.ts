/**
 * The config a version was registered with: the copy kept in the workspace store, or, for
 * versions registered before configs were kept, the workspace's modelops.yaml or the file in
 * git at the version's commit when its digest matches. Shared by the sidecar and the CLI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { unifiedDiff } from './textDiff';
import type { Digest, Registry, VersionComparison } from './types';

const CONFIG_NAMES = ['modelops.yaml', 'modelops.yml'];

export interface VersionConfig {
  /** The resolved version, "model@1.2.0". */
  ref: string;
  /** The digest the version recorded, or null when it was registered without a config. */
  digest: Digest | null;
  /** The config text, or null when it cannot be recovered. */
  text: string | null;
  /** registry: the copy in the workspace store; workspace: the current file (same digest); git: the file at the version's commit. */
  source: 'registry' | 'workspace' | 'git' | 'none';
  /** One sentence for a header, e.g. where the text came from or why it is missing. */
  note: string;
}

function sha256(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function gitShow(root: string, commit: string, path: string): Promise<string | null> {
  return new Promise((done) => {
    execFile(
      'git',
      ['show', `${commit}:${path}`],
      { cwd: root, timeout: 3000, maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (err, stdout) => done(err ? null : stdout),
    );
  });
}

export async function versionConfig(registry: Registry, ref: string): Promise<VersionConfig> {
  const v = registry.getVersion(ref);
  const label = `${v.model}@${v.version}`;
  const digest = v.configDigest;
  if (!digest)
    return { ref: label, digest: null, text: null, source: 'none', note: `${label} was registered without a config.` };
  let corrupt: string | null = null;
  try {
    const text = await registry.configText(label);
    if (text !== null)
      return {
        ref: label,
        digest,
        text,
        source: 'registry',
        note: `the config ${label} was registered with (kept in the workspace store)`,
      };
  } catch (e) {
    // A damaged copy may still be recovered from the workspace or git below.
    if (!(e instanceof ModelOpsError && e.code === 'config-corrupt')) throw e;
    corrupt = e.message;
  }
  const suffix = corrupt ? ` (${corrupt})` : '';
  const root = registry.root;
  for (const name of CONFIG_NAMES) {
    const file = join(root, name);
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    if (sha256(bytes) === digest)
      return {
        ref: label,
        digest,
        text: bytes.toString('utf8'),
        source: 'workspace',
        note: `${name} in the workspace (unchanged since ${label})${suffix}`,
      };
  }
  if (v.gitCommit) {
    for (const name of CONFIG_NAMES) {
      const text = await gitShow(root, v.gitCommit, name);
      if (text !== null && sha256(text) === digest)
        return {
          ref: label,
          digest,
          text,
          source: 'git',
          note: `${name} at commit ${v.gitCommit.slice(0, 10)}${suffix}`,
        };
    }
  }
  return {
    ref: label,
    digest,
    text: null,
    source: 'none',
    note: corrupt
      ? `${corrupt} It is neither the current modelops.yaml nor committed in git.`
      : `The config of ${label} (digest ${digest.slice(7, 19)}) is neither the current modelops.yaml nor committed in git.`,
  };
}

export interface VersionDiff {
  comparison: VersionComparison;
  configA: VersionConfig;
  configB: VersionConfig;
  /** `diff -u` of the two configs: '' when they are equal, null when either cannot be recovered. */
  configDiff: string | null;
}

/** Metrics side by side and the unified diff of the two versions' configs. */
export async function diffVersions(registry: Registry, refA: string, refB: string): Promise<VersionDiff> {
  const comparison = registry.compareVersions(refA, refB);
  const configA = await versionConfig(registry, `${comparison.a.model}@${comparison.a.version}`);
  const configB = await versionConfig(registry, `${comparison.b.model}@${comparison.b.version}`);
  const configDiff =
    configA.text === null || configB.text === null
      ? null
      : unifiedDiff(configA.text, configB.text, {
          fromLabel: `${configA.ref}/modelops.yaml`,
          toLabel: `${configB.ref}/modelops.yaml`,
        });
  return { comparison, configA, configB, configDiff };
}
