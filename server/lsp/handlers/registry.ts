/** The registry's requests on the sidecar (the registry instance itself is ctx.registry(), shared by all handlers). */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ServerContext } from '../context';
import { withWorkDone } from '../workDone';
import { core, registry as rpc } from '../../protocol';
import { ModelOpsError } from '../../engine/errors';
import { buildLineage, detectModelFormat, openRegistry } from '../../engine/registry';
import { registerModel } from '../../engine/registry/registerModel';
import { loadConfig } from '../../engine/config';
import type { WorkspaceRegistry } from '../../engine/registry/registry';
import { exportVersion, importVersion } from '../../engine/registry/versionArchive';

function workspaceRoot(ctx: ServerContext): string {
  const root = ctx.workspaceRoot();
  if (!root) {
    throw new ModelOpsError(
      'no-workspace',
      'No workspace folder is open, so there is no model registry.',
      'Open a folder (File › Open Folder…) to use the registry.',
    );
  }
  return resolve(root);
}

export function registerRegistry(ctx: ServerContext): void {
  const w = (): WorkspaceRegistry => ctx.registry();
  const r = (): WorkspaceRegistry => ctx.readRegistry();

  ctx.handle(rpc.storeState, () => {
    const reg = r();
    return { lost: reg.lostDatabase, warnings: reg.warnings };
  });
  ctx.handle(rpc.confirmNewRegistry, () => {
    const root = workspaceRoot(ctx);
    ctx.closeRegistry();
    const reg = openRegistry(root, { confirmNewRegistry: true });
    reg.close();
    ctx.notify(core.changed, { kind: 'models' });
    const fresh = ctx.registry();
    return { lost: fresh.lostDatabase, warnings: [...reg.warnings, ...fresh.warnings] };
  });
  ctx.handle(rpc.listModels, () => r().listModels());
  ctx.handle(rpc.listVersions, (p) => r().listVersions(p));
  ctx.handle(rpc.getVersion, (p) => r().getVersion(p.ref));
  ctx.handle(rpc.registerVersion, async (p) => {
    // A bare .onnx file in a trusted workspace with a modelops.yaml: the config says how to run
    // it, and it is evaluated and gated at once, as `modelops versions register --config` does.
    const root = workspaceRoot(ctx);
    const source = resolve(root, p.source);
    const config = join(root, 'modelops.yaml');
    // A config with errors does not block registering the file: it is registered from its metadata_props.
    const usable = async () =>
      existsSync(config) &&
      (await loadConfig(config).then(
        () => true,
        () => false,
      ));
    if (
      ctx.trusted() &&
      p.onnx === undefined &&
      p.format === undefined &&
      detectModelFormat(source) === 'onnx' &&
      statSync(source).isFile() &&
      (await usable())
    ) {
      const r = await registerModel({
        registry: w(),
        configPath: config,
        source,
        model: p.model,
        version: p.version,
        note: p.note ?? null,
        tags: p.tags ?? [],
        cwd: root,
      });
      return r.version;
    }
    return w().registerVersion(p);
  });
  ctx.handle(rpc.setAlias, (p) =>
    w().setAlias(p.model, p.alias, p.version, p.reason ?? null, { forceReason: p.forceReason ?? null }),
  );
  ctx.handle(rpc.rollbackAlias, (p) => w().rollbackAlias(p.model, p.alias, p.reason ?? null));
  ctx.handle(rpc.aliasHistory, (p) => r().aliasHistory(p.model, p.alias));
  ctx.handle(rpc.compareVersions, (p) => r().compareVersions(p.a, p.b));
  ctx.handle(rpc.archiveVersion, (p) => w().archiveVersion(p.ref, p.archived ?? true));
  ctx.handle(rpc.deleteVersion, (p) => {
    w().deleteVersion(p.ref);
    return { deleted: p.ref };
  });
  ctx.handle(rpc.setTags, (p) => w().setTags(p.ref, p.tags));
  ctx.handle(rpc.artifactPath, async (p) => ({ path: await w().artifactPath(p.ref) }));
  ctx.handle(rpc.listRuns, (p) => r().listRuns(p ?? {}));
  ctx.handle(rpc.getRun, (p) => r().getRun(p.id));
  ctx.handle(rpc.runMetrics, (p) => r().runMetrics(p.id));
  ctx.handle(rpc.listDatasets, () => r().listDatasets());
  ctx.handle(rpc.listDeployments, (p) => r().listDeployments(p ?? {}));
  ctx.handle(rpc.listAlerts, (p) => r().listAlerts(p ?? {}));
  ctx.handle(rpc.acknowledgeAlerts, (p) => w().acknowledgeAlerts(p ?? {}));
  ctx.handle(rpc.lineage, (p) => buildLineage(r(), p.ref));
  ctx.handle(rpc.exportVersion, (p, token) =>
    withWorkDone(
      ctx,
      { title: `ModelOps: exporting ${p.ref}`, workDoneToken: p.workDoneToken, cancel: token },
      (work) =>
        exportVersion(w(), {
          ref: p.ref,
          out: p.out,
          force: p.force,
          withData: p.withData,
          signal: work.signal,
          onProgress: work.bytes,
        }),
    ),
  );
  ctx.handle(rpc.importVersion, (p, token) =>
    withWorkDone(
      ctx,
      { title: `ModelOps: importing ${basename(p.file)}`, workDoneToken: p.workDoneToken, cancel: token },
      (work) =>
        importVersion(w(), {
          file: p.file,
          model: p.model,
          version: p.version,
          signal: work.signal,
          onProgress: work.bytes,
        }),
    ),
  );
  ctx.handle(rpc.configText, async (p) => {
    const reg = r();
    const v = reg.getVersion(p.ref);
    const ref = `${v.model}@${v.version}`;
    return { ref, configDigest: v.configDigest, text: await reg.configText(ref) };
  });
}
