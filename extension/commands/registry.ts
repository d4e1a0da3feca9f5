/** Registry commands: register, promote, roll back an alias, compare, details, lineage, copy, reveal, archive, export, import. */
import * as vscode from 'vscode';
import { governance, registry, type ResultOf } from '../../server/protocol';
import { compareSections } from '../../server/report/governanceData';
import { configUri } from '../services/versionConfigs';
import { registerPath } from '../services/register';
import { UserError } from '../ctx';
import { versionTooltip } from '../tree/format';
import { gateNeedsReason } from '../../shared/gateState';
import { compareTitle, comparisonMarkdown } from '../text/compare';
import { gateSummary, ref } from '../text/version';
import { offerApproval } from '../ui/approval';
import { askOverrideReason } from '../ui/gates';
import { modelFromArg, pickModel, pickVersion, resolveVersion, versionFromArg } from '../ui/pick';
import type { CommandFactory } from './command';
import { runJob } from '../progress';
import { archiveFileName, formatBytes, runKindName } from '../../shared/format';

const STANDARD_ALIASES = ['production', 'staging', 'champion'];

export const registerVersion: CommandFactory = (ctx) => async (arg?: unknown) => {
  let source = arg instanceof vscode.Uri ? arg : undefined;
  if (!source) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri: ctx.workspaceFolder()?.uri,
      openLabel: 'Register',
      title:
        'ModelOps: choose a model file or folder (ONNX runs here; PyTorch, Keras, safetensors, pickle and SavedModel are stored, to export to ONNX)',
    });
    source = picked?.[0];
  }
  if (!source) return;
  await registerPath(ctx, source, 'ask', modelFromArg(arg));
};

export const promote: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Promote which version?', detail: gateSummary });
  if (!v) return;
  const model = (await ctx.request(registry.listModels, {})).find((m) => m.name === v.model);
  const current = model?.aliases ?? {};
  const aliasNames = [...new Set([...STANDARD_ALIASES, ...Object.keys(current)])];
  const other = { label: '$(edit) Other alias…', alias: '' };
  const picked = await vscode.window.showQuickPick(
    [
      ...aliasNames.map((a) => ({
        label: a,
        description: current[a]
          ? `now ${current[a]}${current[a] === v.version ? ' (this version)' : ''}`
          : 'not set yet',
        alias: a,
      })),
      other,
    ],
    { title: `Promote ${ref(v)} to…` },
  );
  if (!picked) return;
  const alias =
    picked.alias ||
    (await vscode.window.showInputBox({
      title: 'Alias name',
      validateInput: (s) =>
        /^[a-z][a-z0-9._-]{0,63}$/.test(s)
          ? undefined
          : 'Lower-case letters, digits, ".", "_" or "-", starting with a letter.',
    }));
  if (!alias) return;
  let forceReason: string | undefined;
  if (gateNeedsReason(v.gates)) {
    forceReason = await askOverrideReason(v, `become '${alias}'`);
    if (!forceReason) return;
  }
  const reason = await vscode.window.showInputBox({
    title: `Reason for moving '${alias}' to ${v.version} (optional)`,
    ignoreFocusOut: true,
  });
  if (reason === undefined) return;
  try {
    const move = await ctx.request(registry.setAlias, {
      model: v.model,
      alias,
      version: v.version,
      reason: reason || null,
      forceReason: forceReason ?? null,
    });
    void vscode.window.showInformationMessage(
      `ModelOps: ${v.model} '${alias}' → ${move.toVersion}${move.fromVersion ? ` (was ${move.fromVersion})` : ''}.`,
    );
  } catch (e) {
    // A protected alias: the engine refused for want of an approval; offer Approve / Request Approval, then try again.
    if (
      e instanceof UserError &&
      (e.code === 'approval-required' || e.code === 'approval-void' || e.code === 'approval-by-author')
    ) {
      if (!(await offerApproval(ctx, e, v, alias))) return;
      const move = await ctx.request(registry.setAlias, {
        model: v.model,
        alias,
        version: v.version,
        reason: reason || null,
        forceReason: forceReason ?? null,
      });
      void vscode.window.showInformationMessage(
        `ModelOps: ${v.model} '${alias}' → ${move.toVersion}${move.fromVersion ? ` (was ${move.fromVersion})` : ''}.`,
      );
      return;
    }
    // Gates may have been evaluated since the tree was drawn.
    if (e instanceof UserError && e.code === 'gates-failed' && !forceReason) {
      const fresh = await ctx.request(registry.getVersion, { ref: ref(v) });
      const again = await askOverrideReason(fresh, `become '${alias}'`);
      if (!again) return;
      await ctx.request(registry.setAlias, {
        model: v.model,
        alias,
        version: v.version,
        reason: reason || null,
        forceReason: again,
      });
      void vscode.window.showInformationMessage(`ModelOps: ${v.model} '${alias}' → ${v.version} (gates overridden).`);
      return;
    }
    throw e;
  }
};

export const rollbackAlias: CommandFactory = (ctx) => async (arg?: unknown) => {
  const modelName = modelFromArg(arg) ?? (await pickModel(ctx, 'Roll back an alias of which model?'));
  if (!modelName) return;
  const model = (await ctx.request(registry.listModels, {})).find((m) => m.name === modelName);
  const held = Object.entries(model?.aliases ?? {});
  if (!held.length) throw new UserError(`${modelName} has no aliases to roll back.`);
  const fromNode = versionFromArg(arg)?.aliases ?? [];
  const candidates = fromNode.length ? held.filter(([a]) => fromNode.includes(a)) : held;
  const items = await Promise.all(
    candidates.map(async ([alias, version]) => {
      const history = await ctx.request(registry.aliasHistory, { model: modelName, alias });
      const last = history.find((m) => m.toVersion === version);
      return {
        label: alias,
        description: `${version} → ${last?.fromVersion ?? '(nothing before)'}`,
        alias,
        back: last?.fromVersion ?? null,
        version,
      };
    }),
  );
  const picked =
    items.length === 1
      ? items[0]
      : await vscode.window.showQuickPick(items, { title: `Roll back which alias of ${modelName}?` });
  if (!picked) return;
  if (!picked.back) throw new UserError(`'${picked.alias}' of ${modelName} has no earlier version to roll back to.`);
  const ok = 'Roll Back';
  const choice = await vscode.window.showWarningMessage(
    `Move '${picked.alias}' of ${modelName} back from ${picked.version} to ${picked.back}?`,
    { modal: true },
    ok,
  );
  if (choice !== ok) return;
  const move = await ctx.request(registry.rollbackAlias, {
    model: modelName,
    alias: picked.alias,
    reason: 'rolled back from the editor',
  });
  void vscode.window.showInformationMessage(`ModelOps: ${modelName} '${picked.alias}' is back at ${move.toVersion}.`);
};

export const compareVersions: CommandFactory = (ctx) => async (arg?: unknown) => {
  const a = await resolveVersion(ctx, arg, { title: 'Compare which version?', includeArchived: true });
  if (!a) return;
  const b = await pickVersion(ctx, a.model, {
    title: `Compare ${ref(a)} with…`,
    exclude: a.version,
    includeArchived: true,
  });
  if (!b) return;
  // Older on the left, as a diff reads.
  const [left, right] = a.createdAt <= b.createdAt ? [a, b] : [b, a];
  const c = await ctx.request(registry.compareVersions, { a: ref(left), b: ref(right) });
  // The compare panel (one, reused), titled by what it compares; the rest of the comparison
  // (signature, artifact, aliases, gates) one click away, and said at once when the signature changed.
  const [importance, fairness] = await Promise.all([
    Promise.all([left, right].map((v) => ctx.request(governance.storedImportance, { ref: ref(v) }).catch(() => null))),
    Promise.all([left, right].map((v) => ctx.request(governance.storedFairness, { ref: ref(v) }).catch(() => null))),
  ]);
  await ctx.charts.open({
    kind: 'compare',
    title: compareTitle(c),
    data: {
      versions: [ref(c.a), ref(c.b)],
      metrics: Object.entries(c.metrics).map(([name, [x, y]]) => ({ name, values: [x, y] })),
      ...compareSections(2, importance, fairness),
    },
  });
  const details = 'Show Details';
  const said = c.signatureChanged
    ? vscode.window.showWarningMessage(
        `ModelOps: ${right.version} changes the signature of ${left.model} (inputs or outputs differ from ${left.version}).`,
        details,
      )
    : vscode.window.showInformationMessage(
        `ModelOps: ${compareTitle(c)} — ${c.sameArtifact ? 'identical artifact' : 'artifact differs'}, config ${c.a.configDigest === c.b.configDigest ? 'same' : 'changed'}.`,
        details,
      );
  void said.then((pick) =>
    pick === details ? ctx.docs.show(`${ref(left)} vs ${right.version}`, comparisonMarkdown(c)) : undefined,
  );
  if (left.configDigest && right.configDigest && left.configDigest !== right.configDigest) {
    await vscode.commands.executeCommand(
      'vscode.diff',
      configUri(left.model, left.version),
      configUri(right.model, right.version),
      `modelops.yaml: ${left.version} ↔ ${right.version}`,
      { preview: true, viewColumn: vscode.ViewColumn.Beside },
    );
  }
};

export const showVersionDetails: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v0 = await resolveVersion(ctx, arg, { title: 'Show which version?', includeArchived: true });
  if (!v0) return;
  const v = await ctx.request(registry.getVersion, { ref: ref(v0) });
  const gates = v.gates?.results.length
    ? [
        '',
        '## Gates',
        '',
        '| metric | gate | actual | result |',
        '| --- | --- | ---: | --- |',
        ...v.gates.results.map(
          (r) =>
            `| ${r.metric} | ${r.expression} | ${r.actual === null ? '—' : r.actual.toFixed(4)} | ${r.passed ? 'pass' : `**fail** — ${r.message}`} |`,
        ),
      ]
    : [];
  const metrics = Object.entries(v.metrics);
  const body = [
    versionTooltip(v),
    ...(metrics.length
      ? [
          '',
          '## Metrics',
          '',
          '| metric | value |',
          '| --- | ---: |',
          ...metrics.map(([k, x]) => `| ${k} | ${x.toFixed(6)} |`),
        ]
      : []),
    ...gates,
    ...(v.signature
      ? [
          '',
          '## Signature',
          '',
          ...v.signature.inputs.map((t) => `- input \`${t.name}\` ${t.datatype} [${t.shape.join(', ')}]`),
          ...v.signature.outputs.map((t) => `- output \`${t.name}\` ${t.datatype} [${t.shape.join(', ')}]`),
        ]
      : []),
    ...(v.tags.length ? ['', `Tags: ${v.tags.join(', ')}`] : []),
    '',
  ];
  await ctx.docs.show(`version ${ref(v)}`, body.join('\n'));
};

export const showLineage: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Lineage of which version?', includeArchived: true });
  if (!v) return;
  const l = await ctx.request(registry.lineage, { ref: ref(v) });
  const body = [
    `# Lineage of ${l.ref}`,
    '',
    '| | |',
    '| --- | --- |',
    ...l.lines.map((x) => `| ${x.label} | ${x.value.replace(/\|/g, '\\|')} |`),
    '',
    ...(l.ancestors.length
      ? [
          '## Ancestors',
          '',
          ...l.ancestors.map(
            (a) => `- ${a.version}${a.note ? ` — ${a.note}` : ''}${a.createdAt ? ` (${a.createdAt})` : ''}`,
          ),
          '',
        ]
      : []),
  ];
  await ctx.docs.show(`lineage ${l.ref}`, body.join('\n'));
};

export const copyVersionUri: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Copy the URI of which version?', includeArchived: true });
  if (!v) return;
  const options = [ref(v), ...v.aliases.map((a) => `${v.model}@${a}`)];
  const text =
    options.length === 1 ? options[0] : await vscode.window.showQuickPick(options, { title: 'Copy which reference?' });
  if (!text) return;
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`$(copy) Copied ${text}`, 3000);
};

export const revealArtifact: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Reveal the artifact of which version?', includeArchived: true });
  if (!v) return;
  const { path } = await ctx.request(registry.artifactPath, { ref: ref(v) });
  const uri = vscode.Uri.file(path);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
};

export const archiveVersion: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Archive which version?' });
  if (!v) return;
  const ok = 'Archive';
  const choice = await vscode.window.showWarningMessage(
    `Archive ${ref(v)}? It stays in the registry (lineage and history keep pointing at it) but is hidden from lists and cannot take an alias.`,
    { modal: true },
    ok,
  );
  if (choice !== ok) return;
  await ctx.request(registry.archiveVersion, { ref: ref(v), archived: true });
  void vscode.window.showInformationMessage(`ModelOps: archived ${ref(v)}.`);
};

const ARCHIVE_FILTER = { 'ModelOps version archive': ['tgz'] };

/** Writes a version as one `.modelops.tgz` that another workspace imports as the same version. */
export const exportVersion: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Export which version?', includeArchived: true });
  if (!v) return;
  let withData = false;
  if (v.datasets.length > 0) {
    const items = [
      { label: 'Model only', description: 'its data named by digest', withData: false },
      {
        label: 'Model and its data',
        description: `the exact bytes of ${v.datasets.map((d) => d.path).join(', ')}`,
        withData: true,
      },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: `Export ${ref(v)}: carry its data too?` });
    if (!pick) return;
    withData = pick.withData;
  }
  const folder = ctx.workspaceFolder()?.uri;
  const out = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, archiveFileName(v.model, v.version)) : undefined,
    filters: ARCHIVE_FILTER,
    saveLabel: 'Export',
    title: `Export ${ref(v)}`,
  });
  if (!out) return;
  // The save dialog asked before replacing a file.
  const outcome = await runJob(ctx, `ModelOps: exporting ${ref(v)}`, (workDoneToken, token) =>
    ctx.request(registry.exportVersion, { ref: ref(v), out: out.fsPath, force: true, withData, workDoneToken }, token),
  );
  if (outcome.cancelled || !outcome.result) return;
  const r = outcome.result;
  ctx.output.info(`export ${r.ref} → ${out.fsPath} (${formatBytes(r.size)}, ${r.digest})`);
  void vscode.window.showInformationMessage(
    `ModelOps: exported ${r.ref} to ${vscode.workspace.asRelativePath(out)} (${formatBytes(r.size)}${r.data.length ? `, with the bytes of ${r.data.map((d) => d.path).join(', ')}` : ''}). Another workspace imports it with Import Version….`,
  );
};

/** Imports a version archive; when its version is taken here by other bytes, offers another version number. */
export const importVersion: CommandFactory = (ctx) => async (arg?: unknown) => {
  let file = arg instanceof vscode.Uri ? arg : undefined;
  if (!file) {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: ARCHIVE_FILTER,
      defaultUri: ctx.workspaceFolder()?.uri,
      openLabel: 'Import',
      title: 'ModelOps: import which version archive (.modelops.tgz)?',
    });
    file = picked?.[0];
  }
  if (!file) return;
  const params: { file: string; version?: string } = { file: file.fsPath };
  for (;;) {
    try {
      const outcome = await runJob(
        ctx,
        `ModelOps: importing ${vscode.workspace.asRelativePath(file)}`,
        (workDoneToken, token) => ctx.request(registry.importVersion, { ...params, workDoneToken }, token),
      );
      if (outcome.cancelled || !outcome.result) return;
      const r = outcome.result;
      const v = r.version;
      const details = 'Show Details';
      let message = `ModelOps: ${ref(v)} is already in this registry with the same bytes.`;
      if (r.status === 'imported') {
        ctx.output.info(`import ${r.origin.ref} from ${file.fsPath} → ${ref(v)} (${v.artifactDigest})`);
        message = `ModelOps: imported ${ref(v)}${r.origin.ref !== ref(v) ? ` (was ${r.origin.ref})` : ''}, verified${carried(r)}. Aliases, approvals and deployments stay with the workspace it came from.`;
      }
      const choice = await vscode.window.showInformationMessage(message, details);
      if (choice === details)
        await vscode.commands.executeCommand('modelops.showVersionDetails', { kind: 'version', version: v });
      return;
    } catch (e) {
      if (!(e instanceof UserError && e.code === 'version-exists')) throw e;
      const version = await vscode.window.showInputBox({
        title: 'Import under another version',
        prompt: e.message.split(' Nothing was imported.')[0],
        placeHolder: '1.2.1',
        validateInput: (x) => (/^\d+\.\d+\.\d+$/.test(x.trim()) ? null : 'A version is MAJOR.MINOR.PATCH, e.g. 1.2.1.'),
      });
      if (!version) return;
      params.version = version.trim();
    }
  }
};

/** ", with its training run and its data data/x.csv" — what an import brought besides the model. */
function carried(r: Pick<ResultOf<typeof registry.importVersion>, 'run' | 'data'>): string {
  const parts = [
    ...(r.run ? [`its ${runKindName(r.run.kind)}`] : []),
    ...(r.data.length ? [`its data ${r.data.map((d) => d.path).join(', ')}`] : []),
  ];
  return parts.length ? `, with ${parts.join(' and ')}` : '';
}
