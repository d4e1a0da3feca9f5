import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..');
interface Command {
  command: string;
  title: string;
  category?: string;
}
interface Step {
  id: string;
  description: string;
  media: { markdown?: string };
  completionEvents?: string[];
}
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  activationEvents: string[];
  contributes: {
    commands: Command[];
    walkthroughs: Array<{ id: string; steps: Step[] }>;
    yamlValidation: Array<{ url: string }>;
  };
};
const commands = new Set(manifest.contributes.commands.map((c) => c.command));

test('manifest: every command is in the ModelOps category and activation never uses *', () => {
  for (const c of manifest.contributes.commands) assert.equal(c.category, 'ModelOps', c.command);
  assert.ok(!manifest.activationEvents.includes('*'));
  assert.ok(manifest.activationEvents.includes('workspaceContains:**/modelops.yaml'));
});

test('manifest: yamlValidation points at the published schema', () => {
  for (const v of manifest.contributes.yamlValidation) assert.ok(existsSync(join(REPO, v.url)), v.url);
});

test('walkthrough: each step links real commands and ships its markdown', () => {
  const [walkthrough] = manifest.contributes.walkthroughs;
  assert.deepEqual(
    walkthrough.steps.map((s) => s.id),
    ['config', 'train', 'ownModel', 'promote', 'deploy', 'monitor'],
  );
  for (const step of walkthrough.steps) {
    const linked = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]);
    assert.ok(linked.length > 0, `${step.id} links a command`);
    for (const id of linked) assert.ok(commands.has(id), `${step.id} links ${id}, which is contributed`);
    for (const e of step.completionEvents ?? [])
      if (e.startsWith('onCommand:')) assert.ok(commands.has(e.slice(10)), e);
    assert.ok(step.media.markdown && existsSync(join(REPO, step.media.markdown)), `${step.id} media`);
  }
});
